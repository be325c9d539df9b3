import { SeededRandom } from '@strata/backend-conformance';
import {
  type AttentionOptions,
  createPagedBatch,
  type KeyValueCache,
  type PagedKeyValueCache,
  StrataError,
  storageBytes,
} from '@strata/core';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../cpu-backend.js';
import type { CpuTensor } from '../cpu-tensor.js';
import { floatToHalf } from '../quant/half.js';

// An f16 cache made by createKeyValueCache stores halves (Uint16Array bit patterns). Its numerics must be exactly those
// of an f16 cache kept in f32 storage (a pair of f32 tensors with precision 'f16', which rounds what is written): the
// CPU's f16 cache before it stored halves, so every f16 result on the CPU stays bit for bit what it was.
const backend = createCpuBackend();

/** An f16 cache in f32 storage: the values rounded to half precision, held as f32. */
function roundingCache(capacity: number, width: number): KeyValueCache {
  return { keys: backend.zeros([capacity, width]), values: backend.zeros([capacity, width]), precision: 'f16' };
}

/** Bytes of a cache's storage (keys and values). */
function storedBytes(cache: KeyValueCache): number {
  return [cache.keys, cache.values].reduce((sum, tensor) => sum + (tensor as CpuTensor).storage.data.byteLength, 0);
}

/** Values at the edges of half precision: ties either way, overflow, subnormals, signed zero, NaN, infinities. */
function boundaryValues(): Float32Array {
  return Float32Array.of(
    1 + 2 ** -11, // a tie: rounds down to the even 1
    1 + 3 * 2 ** -11, // a tie: rounds up to the even 1 + 2^-9
    -(1 + 2 ** -11 + 2 ** -23), // just above a tie: away from 1
    65504,
    65519.99,
    65520, // rounds to infinity
    -70000,
    2 ** -24, // the smallest subnormal
    2 ** -25, // a tie with 0: rounds to the even 0
    3 * 2 ** -25, // a tie between 2^-24 and 2^-23: to 2^-23
    2 ** -14 - 2 ** -25, // rounds up into the normals
    -0,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    0.1,
  );
}

describe('f16 KV cache (CPU reference)', () => {
  it('stores halves: 2 bytes per value, half an f32 cache, the storageBytes of its dtype (paged pools too)', () => {
    for (const [capacity, width] of [
      [10, 512],
      [7, 6],
      [3, 5],
    ] as const) {
      const half = backend.createKeyValueCache(capacity, width, 'f16');
      const full = backend.createKeyValueCache(capacity, width, 'f32');
      expect(half.keys.dtype).toBe('f16');
      expect(half.precision).toBe('f16');
      expect(storedBytes(half)).toBe(2 * 2 * capacity * width);
      expect(storedBytes(half)).toBe(storedBytes(full) / 2);
      expect(storedBytes(half)).toBe(2 * storageBytes(half.keys.dtype, [capacity, width]));
    }
    const pool = backend.createPagedKeyValueCache(6, 4, 64, 'f16');
    expect(pool.storage.keys.dtype).toBe('f16');
    expect(storedBytes(pool.storage)).toBe(storedBytes(backend.createPagedKeyValueCache(6, 4, 64).storage) / 2);
  });

  it('holds the nearest-even half of each value written: the bits of floatToHalf, read as the f32-stored cache', async () => {
    const special = boundaryValues();
    const random = new SeededRandom('f16 cache writes').floats(3 * 16 - special.length, -8, 8);
    const keys = Float32Array.from([...special, ...random]);
    const values = keys.map((value) => -2 * value);
    const halves = backend.createKeyValueCache(4, 16, 'f16');
    const rounding = roundingCache(4, 16);
    for (const cache of [halves, rounding]) {
      backend.writeKeyValues(cache, backend.upload(keys, [3, 16]), backend.upload(values, [3, 16]), 2);
    }
    // Rows 2, 3, then 0 (the ring wraps); row 1 was never written.
    const bits = (halves.keys as CpuTensor).storage.data as Uint16Array;
    expect(Array.from(bits.subarray(32, 64))).toEqual(Array.from(keys.subarray(0, 32), floatToHalf));
    expect(Array.from(bits.subarray(0, 16))).toEqual(Array.from(keys.subarray(32), floatToHalf));
    for (const part of ['keys', 'values'] as const) {
      expect(Array.from((await backend.read(halves[part])) as Float32Array)).toEqual(
        Array.from((await backend.read(rounding[part])) as Float32Array),
      );
      expect(Array.from((await backend.read(backend.sliceRows(halves[part], 1, 3))) as Float32Array)).toEqual(
        Array.from((await backend.read(backend.sliceRows(rounding[part], 1, 3))) as Float32Array),
      );
    }
  });

  it('gives attention, in a ring with window and softcap, exactly the outputs of the f32-stored f16 cache', async () => {
    const random = new SeededRandom('f16 cache attention');
    const width = 2 * 32;
    for (const [capacity, extra] of [
      [40, {}],
      [11, { window: 8 }],
      [12, { window: 6, softcap: 30 }],
    ] as const) {
      const caches = [backend.createKeyValueCache(capacity, width, 'f16'), roundingCache(capacity, width)];
      const options: Omit<AttentionOptions, 'firstPosition'> = {
        heads: 4,
        keyValueHeads: 2,
        headDimensions: 32,
        scale: 0.17,
        ...extra,
      };
      for (let position = 0; position < 30; position += 4) {
        const keys = backend.upload(random.floats(4 * width, -3, 3), [4, width]);
        const values = backend.upload(random.floats(4 * width, -3, 3), [4, width]);
        const queries = backend.upload(random.floats(4 * 128, -3, 3), [4, 128]);
        const outputs: Float32Array[] = [];
        for (const cache of caches) {
          backend.writeKeyValues(cache, keys, values, position);
          outputs.push(
            (await backend.read(
              backend.attention(queries, cache, { ...options, firstPosition: position }),
            )) as Float32Array,
          );
        }
        expect(Array.from(outputs[0]!)).toEqual(Array.from(outputs[1]!));
      }
    }
  });

  it('gives paged attention over page tables, windowed or not, exactly the outputs of the f32-stored pool', async () => {
    const random = new SeededRandom('f16 paged attention');
    const width = 64;
    const tables = [
      [3, 0, 5, 1],
      [6, 2, 7, 4],
    ];
    for (const window of [undefined, 5]) {
      const pools: PagedKeyValueCache[] = [
        backend.createPagedKeyValueCache(8, 4, width, 'f16'),
        { storage: roundingCache(32, width), pages: 8, pageSize: 4 },
      ];
      const options = { heads: 4, keyValueHeads: 2, headDimensions: 32, scale: 0.2, window };
      for (let position = 0; position < 14; position += 3) {
        const sequences = tables.map((pages) => ({ firstPosition: position, rows: 3, pages }));
        const batch = createPagedBatch(backend, { pageSize: 4, sequences });
        const keys = backend.upload(random.floats(6 * width, -3, 3), [6, width]);
        const values = backend.upload(random.floats(6 * width, -3, 3), [6, width]);
        const queries = backend.upload(random.floats(6 * 128, -3, 3), [6, 128]);
        const outputs: Float32Array[] = [];
        for (const pool of pools) {
          backend.writePagedKeyValues(pool, keys, values, batch);
          outputs.push((await backend.read(backend.pagedAttention(queries, pool, batch, options))) as Float32Array);
        }
        expect(Array.from(outputs[0]!)).toEqual(Array.from(outputs[1]!));
      }
    }
  });

  it('reshapes and gathers f16 tensors as f16; refuses splitColumns of f16, gatherRows of q8_0, and mismatched caches', async () => {
    const cache = backend.createKeyValueCache(4, 6, 'f16');
    const input = new SeededRandom('f16 cache views').floats(4 * 6, -4, 4);
    backend.writeKeyValues(cache, backend.upload(input, [4, 6]), backend.upload(input, [4, 6]), 0);
    const all = (await backend.read(cache.keys)) as Float32Array;
    const view = backend.reshape(cache.keys, [8, 3]);
    expect(view.dtype).toBe('f16');
    expect(Array.from((await backend.read(view)) as Float32Array)).toEqual(Array.from(all));
    const gathered = backend.gatherRows(cache.keys, [3, 1, 3]);
    expect(gathered.dtype).toBe('f16');
    expect(Array.from((await backend.read(gathered)) as Float32Array)).toEqual([
      ...all.subarray(18, 24),
      ...all.subarray(6, 12),
      ...all.subarray(18, 24),
    ]);
    const dtypeMismatch = (error: unknown) => StrataError.isInstance(error, 'DTYPE_MISMATCH');
    expect(() => backend.splitColumns(cache.keys, [3, 3])).toThrow(expect.toSatisfy(dtypeMismatch));
    const quantized = backend.createKeyValueCache(2, 32, 'q8_0');
    expect(() => backend.gatherRows(quantized.keys, [1, 0])).toThrow(expect.toSatisfy(dtypeMismatch));
    const rows = backend.upload(input.subarray(0, 6), [1, 6]);
    const asF32: KeyValueCache = { keys: cache.keys, values: cache.values };
    expect(() => backend.writeKeyValues(asF32, rows, rows, 0)).toThrow(expect.toSatisfy(dtypeMismatch));
    const mixed: KeyValueCache = { keys: cache.keys, values: backend.zeros([4, 6]), precision: 'f16' };
    expect(() => backend.writeKeyValues(mixed, rows, rows, 0)).toThrow(expect.toSatisfy(dtypeMismatch));
    expect(() =>
      backend.attention(backend.zeros([1, 6]), mixed, {
        heads: 1,
        keyValueHeads: 1,
        headDimensions: 6,
        scale: 1,
        firstPosition: 0,
      }),
    ).toThrow(expect.toSatisfy(dtypeMismatch));
  });
});
