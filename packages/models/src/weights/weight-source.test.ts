import { type Backend, isWeightByteReader, type WeightBytes } from '@strata/core';
import { bytesSource, LocatedTensorStore, type TensorStore } from '@strata/loaders';
import { describe, expect, it } from 'vitest';
import { WeightSource } from './weight-source.js';

const FILE = Uint8Array.from({ length: 96 }, (_, index) => (index * 7 + 1) & 255);

function store(): LocatedTensorStore {
  const source = bytesSource(FILE, 'file');
  const entry = (name: string, rows: number) => ({
    name,
    type: 'F32' as const,
    sourceType: 'F32',
    shape: [rows, 2],
    byteLength: rows * 8,
  });
  return new LocatedTensorStore([
    { entry: entry('a', 2), source, offset: 4 },
    { entry: entry('b', 4), source, offset: 40 },
  ]);
}

/** A backend whose uploads only keep the bytes they were handed. */
function capturingBackend(): { backend: Backend; uploads: WeightBytes[] } {
  const uploads: WeightBytes[] = [];
  const backend = {
    async uploadWeight(_descriptor: unknown, bytes: WeightBytes) {
      uploads.push(bytes);
      return {};
    },
  } as unknown as Backend;
  return { backend, uploads };
}

async function streamed(bytes: WeightBytes): Promise<number[]> {
  if (bytes instanceof Uint8Array) return Array.from(bytes);
  const all: number[] = [];
  for await (const piece of bytes) all.push(...piece);
  return all;
}

describe('WeightSource uploads', () => {
  it('hands concatenated rows over as a reader of any range, across the tensors, and as a stream', async () => {
    const { backend, uploads } = capturingBackend();
    const weights = new WeightSource(store(), backend);
    await weights.concatenateRows(['a', 'b']);
    const bytes = uploads[0]!;
    if (!isWeightByteReader(bytes)) throw new Error('expected a reader');
    const expected = [...FILE.subarray(4, 20), ...FILE.subarray(40, 72)];
    expect(bytes.byteLength).toBe(48);
    const spanning = new Uint8Array(20);
    const tail = new Uint8Array(3);
    await Promise.all([bytes.readInto(10, spanning), bytes.readInto(45, tail)]);
    expect(Array.from(spanning)).toEqual(expected.slice(10, 30));
    expect(Array.from(tail)).toEqual(expected.slice(45, 48));
    await expect(bytes.readInto(40, new Uint8Array(9))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    expect(await streamed(bytes)).toEqual(expected);
  });

  it('streams when the store cannot read ranges', async () => {
    const { backend, uploads } = capturingBackend();
    const located = store();
    const plain: TensorStore = {
      tensors: located.tensors,
      get: (name) => located.get(name),
      readBytes: (name) => located.readBytes(name),
      streamBytes: (name, chunkBytes, into) => located.streamBytes(name, chunkBytes, into),
    };
    await new WeightSource(plain, backend).tensor('b');
    expect(isWeightByteReader(uploads[0])).toBe(false);
    expect(await streamed(uploads[0]!)).toEqual(Array.from(FILE.subarray(40, 72)));
  });

  it('gives a failed spanning read back only once every part of it has settled', async () => {
    const { backend, uploads } = capturingBackend();
    const located = store();
    let slowDone = false;
    const failing: TensorStore = {
      tensors: located.tensors,
      get: (name) => located.get(name),
      readBytes: (name) => located.readBytes(name),
      streamBytes: (name, chunkBytes, into) => located.streamBytes(name, chunkBytes, into),
      async readRange(name, offset, target) {
        if (name === 'a') throw new Error('disk gone');
        await new Promise((resolve) => setTimeout(resolve, 20));
        await located.readRange(name, offset, target);
        slowDone = true;
      },
    };
    await new WeightSource(failing, backend).concatenateRows(['a', 'b']);
    const reader = uploads[0]!;
    if (!isWeightByteReader(reader)) throw new Error('expected a reader');
    await expect(reader.readInto(8, new Uint8Array(16))).rejects.toThrow('disk gone');
    expect(slowDone).toBe(true);
  });
});
