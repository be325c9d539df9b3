import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../byte-source/byte-source.js';
import { openGguf } from './gguf-file.js';
import type { GgufTypedValue } from './gguf-value.js';
import { ggufValue } from './gguf-value.js';
import { encodeGgufHeader, ggufChunks, type GgufWriteSpec, type GgufWriteTensor, writeGguf } from './gguf-writer.js';

const fixtures = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));

const everyType: [string, GgufTypedValue][] = [
  ['t.u8', ggufValue.u8(255)],
  ['t.i8', ggufValue.i8(-128)],
  ['t.u16', ggufValue.u16(65535)],
  ['t.i16', ggufValue.i16(-32768)],
  ['t.u32', ggufValue.u32(4294967295)],
  ['t.i32', ggufValue.i32(-2147483648)],
  ['t.f32', ggufValue.f32(0.5)],
  ['t.bool', ggufValue.bool(true)],
  ['t.string', ggufValue.string('héllo ✓')],
  ['t.u64', ggufValue.u64(2n ** 64n - 1n)],
  ['t.i64', ggufValue.i64(-(2n ** 63n))],
  ['t.f64', ggufValue.f64(Math.PI)],
  ['t.empty', ggufValue.string('')],
  ['a.f32', ggufValue.f32Array([1.5, -2, 3])],
  ['a.i32', ggufValue.i32Array([-1, 0, 7])],
  ['a.string', ggufValue.stringArray(['a', '', 'ü'])],
  ['a.bool', ggufValue.array({ elementType: 'bool', values: [true, false] })],
  ['a.u64', ggufValue.array({ elementType: 'u64', values: BigUint64Array.from([1n, 2n ** 52n]) })],
  ['a.i16', ggufValue.array({ elementType: 'i16', values: Int16Array.from([-5, 5]) })],
  [
    'a.nested',
    ggufValue.array({
      elementType: 'array',
      values: [
        { elementType: 'u8', values: Uint8Array.from([1, 2]) },
        { elementType: 'array', values: [{ elementType: 'string', values: ['deep'] }] },
      ],
    }),
  ],
];

function tensor(name: string, shape: number[], fill: number): GgufWriteTensor {
  const count = shape.reduce((a, b) => a * b, 1);
  return {
    name,
    type: 'F32',
    shape,
    data: new Uint8Array(Float32Array.from({ length: count }, (_, i) => fill + i).buffer),
  };
}

describe('GGUF writer', () => {
  it('round-trips every value type, nested arrays and 64-bit extremes', async () => {
    const bytes = writeGguf({ metadata: everyType });
    const file = await openGguf(bytes ? bytesSource(bytes) : []);
    expect([...file.metadata.entries()]).toEqual(everyType);
    expect(file.metadata.getU64('t.u64')).toBe(2n ** 64n - 1n);
    expect(file.metadata.getF32('t.f32')).toBe(0.5);
    expect(file.metadata.getI32('t.i32')).toBe(-2147483648);
    expect(file.metadata.getNumberArray('a.u64')).toEqual(Float64Array.from([1, 2 ** 52]));
  });

  it('writes tensors at the requested alignment, in version 2 or 3', async () => {
    for (const version of [2, 3] as const) {
      for (const alignment of [1, 32, 64, 4096]) {
        const tensors = [tensor('a', [3, 5], 0), tensor('b', [7], 100), tensor('c', [2, 2, 2, 1], -3)];
        const bytes = writeGguf({
          metadata: { 'general.architecture': ggufValue.string('x') },
          tensors,
          alignment,
          version,
        });
        const file = await openGguf(bytesSource(bytes));
        expect(file.version).toBe(version);
        expect(file.shards[0]!.alignment).toBe(alignment);
        expect(file.metadata.has('general.alignment')).toBe(alignment !== 32);
        for (const written of tensors) {
          const entry = file.tensors.get(written.name);
          expect(entry.shape).toEqual(written.shape);
          expect(await file.tensors.readBytes(written.name)).toEqual(written.data);
          expect(file.tensorInfos.find((info) => info.name === written.name)!.absoluteOffset % alignment).toBe(0);
        }
      }
    }
  });

  it('rewrites a llama.cpp file byte for byte from what the reader returns', async () => {
    const original = new Uint8Array(readFileSync(`${fixtures}models/quant-base/model-Q4_K_M.gguf`));
    const file = await openGguf(bytesSource(original));
    const spec: GgufWriteSpec = {
      metadata: file.metadata,
      alignment: file.shards[0]!.alignment,
      tensors: await Promise.all(
        file.tensorInfos.map(async (info) => ({
          name: info.name,
          type: info.type.name,
          shape: file.tensors.get(info.name).shape,
          data: await file.tensors.readBytes(info.name),
        })),
      ),
    };
    const rewritten = writeGguf(spec);
    expect(rewritten.byteLength).toBe(original.byteLength);
    expect(Buffer.from(rewritten).equals(Buffer.from(original))).toBe(true);
  });

  it('lays out and reads back files larger than 4 GiB (offsets past 2^32)', async () => {
    const never = async function* (): AsyncIterable<Uint8Array> {};
    const spec: GgufWriteSpec = {
      tensors: [
        { name: 'huge', type: 'Q4_K', shape: [131072, 65536], data: never },
        { name: 'tail', type: 'F32', shape: [8], data: never },
      ],
    };
    const layout = encodeGgufHeader(spec);
    expect(layout.byteLength).toBeGreaterThan(2 ** 32);
    // A virtual file: the header, then zeros, without allocating 4.8 GB.
    const file = await openGguf({
      name: 'virtual.gguf',
      byteLength: layout.byteLength,
      read: async (offset, length) => {
        const bytes = new Uint8Array(length);
        if (offset < layout.header.byteLength) bytes.set(layout.header.subarray(offset, offset + length));
        return bytes;
      },
    });
    const tail = file.tensorInfos.find((info) => info.name === 'tail')!;
    expect(tail.absoluteOffset).toBe(layout.header.byteLength + 131072 * 65536 * (144 / 256));
    expect(tail.absoluteOffset).toBeGreaterThan(2 ** 32);
    expect(file.tensors.get('huge').shape).toEqual([131072, 65536]);
    expect(await file.tensors.readBytes('tail')).toEqual(new Uint8Array(32));
  });

  it('streams the same bytes from async tensor chunks', async () => {
    const small = [tensor('a', [4, 8], 1), tensor('b', [3], 2)];
    const expected = writeGguf({ tensors: small, alignment: 16 });
    const streamed = small.map((entry) => ({
      ...entry,
      data: async function* () {
        const bytes = entry.data as Uint8Array;
        for (let offset = 0; offset < bytes.byteLength; offset += 5) yield bytes.subarray(offset, offset + 5);
      },
    }));
    const chunks: Uint8Array[] = [];
    for await (const chunk of ggufChunks({ tensors: streamed, alignment: 16 })) chunks.push(chunk);
    expect(Buffer.concat(chunks).equals(Buffer.from(expected))).toBe(true);
  });

  it('rejects inconsistent input with INVALID_ARGUMENT', async () => {
    const cases: (() => unknown)[] = [
      () => writeGguf({ tensors: [{ name: 'x', type: 'F32', shape: [4], data: new Uint8Array(15) }] }),
      () => writeGguf({ tensors: [{ name: 'x', type: 'Q4_0', shape: [2, 31], data: new Uint8Array(36) }] }),
      () => writeGguf({ tensors: [tensor('x', [1], 0), tensor('x', [1], 0)] }),
      () => writeGguf({ metadata: { k: ggufValue.u8(256) } }),
      () => writeGguf({ metadata: { k: ggufValue.i32(1.5) } }),
      () =>
        writeGguf({
          metadata: [
            ['k', ggufValue.u8(1)],
            ['k', ggufValue.u8(1)],
          ],
        }),
      () => writeGguf({ alignment: 24 }),
    ];
    for (const run of cases) expect(() => run()).toThrow(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    const short = ggufChunks({
      tensors: [
        {
          name: 'x',
          type: 'F32',
          shape: [4],
          data: (async function* () {
            yield new Uint8Array(8);
          })(),
        },
      ],
    });
    await expect(
      (async () => {
        for await (const _ of short);
      })(),
    ).rejects.toSatisfy((error) => StrataError.isInstance(error, 'INVALID_ARGUMENT'));
  });
});
