import type { WeightByteReader } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { useBackendForTests } from '../testing/backend-for-tests.js';
import type { WebGpuBackend } from '../webgpu-backend.js';
import type { GpuWeight } from './gpu-weight.js';
import { rowsPerChunk } from './upload-weight.js';

// 1 KiB chunks: every matrix below splits.
const backend = useBackendForTests({ maxChunkBytes: 1024 });

async function chunkBytes(b: WebGpuBackend, weight: GpuWeight): Promise<Uint8Array[]> {
  return Promise.all(
    weight.chunks.map(async (chunk) => {
      const size = Math.ceil(chunk.byteLength / 4) * 4;
      const staging = b.device.createBuffer({ size, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
      const encoder = b.device.createCommandEncoder();
      encoder.copyBufferToBuffer(chunk.tracked.buffer, 0, staging, 0, size);
      b.device.queue.submit([encoder.finish()]);
      await staging.mapAsync(GPUMapMode.READ);
      const bytes = new Uint8Array(staging.getMappedRange().slice(0, chunk.byteLength));
      staging.destroy();
      return bytes;
    }),
  );
}

async function* pieces(bytes: Uint8Array, sizes: readonly number[]): AsyncIterable<Uint8Array> {
  let offset = 0;
  for (let index = 0; offset < bytes.byteLength; index++) {
    const size = sizes[index % sizes.length]!;
    yield bytes.slice(offset, offset + size);
    offset += size;
  }
}

/** A reader over `bytes` that records the ranges asked for; `failAt` makes the read of that offset reject. */
function reader(bytes: Uint8Array, failAt?: number): WeightByteReader & { ranges: [number, number][] } {
  const ranges: [number, number][] = [];
  return {
    byteLength: bytes.byteLength,
    ranges,
    async readInto(offset, target) {
      ranges.push([offset, target.byteLength]);
      await Promise.resolve();
      if (offset === failAt) throw new Error('disk gone');
      target.set(bytes.subarray(offset, offset + target.byteLength));
    },
    [Symbol.asyncIterator]: () => pieces(bytes, [7])[Symbol.asyncIterator](),
  };
}

describe('rowsPerChunk', () => {
  it('fits whole rows (with tail padding) into a binding', () => {
    expect(rowsPerChunk(18, 1000, { maxChunkBytes: 1024 })).toBe(56);
    expect(rowsPerChunk(256, 3, { maxChunkBytes: 1024 })).toBe(3);
    expect(() => rowsPerChunk(2048, 3, { maxChunkBytes: 1024 })).toThrow(/does not fit/);
  });
});

describe('uploadWeight', () => {
  it('splits a Q4_0 matrix (18-byte rows) at row boundaries and keeps the file bytes', async (context) => {
    const b = backend(context);
    const rows = 130;
    const bytes = Uint8Array.from({ length: rows * 18 }, (_, index) => (index * 31 + 7) & 255);
    const weight = (await b.uploadWeight({ name: 'q', type: 'Q4_0', shape: [rows, 32] }, bytes)) as GpuWeight;
    expect(weight.rowBytes).toBe(18);
    expect(weight.chunks.map((chunk) => [chunk.firstRow, chunk.rows])).toEqual([
      [0, 56],
      [56, 56],
      [112, 18],
    ]);
    const joined = Uint8Array.from((await chunkBytes(b, weight)).flatMap((chunk) => Array.from(chunk)));
    expect(joined).toEqual(bytes);
  });

  it('streams uneven pieces into the same chunks', async (context) => {
    const b = backend(context);
    const bytes = Uint8Array.from({ length: 70 * 38 * 2 }, (_, index) => (index * 13) & 255);
    const whole = (await b.uploadWeight({ name: 'f', type: 'F16', shape: [70, 38] }, bytes)) as GpuWeight;
    const streamed = (await b.uploadWeight(
      { name: 'f', type: 'F16', shape: [70, 38] },
      pieces(bytes, [1, 3, 500, 77, 1024, 2]),
    )) as GpuWeight;
    expect(streamed.chunks.length).toBeGreaterThan(1);
    expect(await chunkBytes(b, streamed)).toEqual(await chunkBytes(b, whole));
  });

  it('streams uneven pieces into chunks that end mid-word (18-byte rows), keeping the file bytes', async (context) => {
    const b = backend(context);
    const rows = 131; // chunks of 56, 56 and 19 rows: the last one is 342 bytes, not whole words
    const bytes = Uint8Array.from({ length: rows * 18 }, (_, index) => (index * 29 + 3) & 255);
    const streamed = (await b.uploadWeight(
      { name: 'q', type: 'Q4_0', shape: [rows, 32] },
      pieces(bytes, [1, 3, 500, 77, 1024, 2, 6]),
    )) as GpuWeight;
    expect(streamed.chunks.at(-1)!.byteLength % 4).not.toBe(0);
    const joined = Uint8Array.from((await chunkBytes(b, streamed)).flatMap((chunk) => Array.from(chunk)));
    expect(joined).toEqual(bytes);
  });

  it('keeps whole experts per chunk for expert stacks', async (context) => {
    const b = backend(context);
    const bytes = new Uint8Array(6 * 5 * 32 * 4);
    const weight = (await b.uploadWeight({ name: 'e', type: 'F32', shape: [6, 5, 32] }, bytes)) as GpuWeight;
    // 128-byte rows: 7 fit 1 KiB, rounded down to whole experts of 5 rows.
    expect(weight.chunks.map((chunk) => chunk.rows)).toEqual(new Array(6).fill(5));
  });

  it('converts F16 and BF16 vectors to f32 and rejects wrong byte counts', async (context) => {
    const b = backend(context);
    const bf16 = new Uint16Array([0x3f80, 0xc000, 0x4040]); // 1, -2, 3
    const vector = (await b.uploadWeight(
      { name: 'v', type: 'BF16', shape: [3] },
      new Uint8Array(bf16.buffer),
    )) as GpuWeight;
    expect(vector.storedType).toBe('F32');
    expect(Array.from(new Float32Array((await chunkBytes(b, vector))[0]!.buffer))).toEqual([1, -2, 3]);
    await expect(b.uploadWeight({ name: 'bad', type: 'F32', shape: [4, 4] }, new Uint8Array(60))).rejects.toMatchObject(
      {
        code: 'SHAPE_MISMATCH',
      },
    );
  });

  it('reads a byte reader straight into mapped chunks, with the same bytes as a whole upload', async (context) => {
    const b = backend(context);
    const rows = 131; // 18-byte rows: chunks of 56, 56 and 19 rows, the last not whole words
    const bytes = Uint8Array.from({ length: rows * 18 }, (_, index) => (index * 37 + 11) & 255);
    const source = reader(bytes);
    const mapped = (await b.uploadWeight({ name: 'q', type: 'Q4_0', shape: [rows, 32] }, source)) as GpuWeight;
    // Read by ranges (one per chunk here: each chunk is smaller than a slice), never streamed.
    expect(source.ranges).toEqual([
      [0, 1008],
      [1008, 1008],
      [2016, 342],
    ]);
    const joined = Uint8Array.from((await chunkBytes(b, mapped)).flatMap((chunk) => Array.from(chunk)));
    expect(joined).toEqual(bytes);
    await expect(
      b.uploadWeight({ name: 'short', type: 'Q4_0', shape: [rows + 1, 32] }, reader(bytes)),
    ).rejects.toMatchObject({ code: 'SHAPE_MISMATCH' });
  });

  it('rejects a mapped upload whose read fails with that read error', async (context) => {
    const b = backend(context);
    const bytes = new Uint8Array(131 * 18);
    await expect(b.uploadWeight({ name: 'q', type: 'Q4_0', shape: [131, 32] }, reader(bytes, 1008))).rejects.toThrow(
      'disk gone',
    );
    // The device still takes uploads after the failure.
    const after = (await b.uploadWeight({ name: 'q', type: 'Q4_0', shape: [131, 32] }, reader(bytes))) as GpuWeight;
    expect(after.chunks.length).toBe(3);
  });
});
