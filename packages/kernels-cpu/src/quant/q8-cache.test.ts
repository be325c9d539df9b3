import { type KeyValueCache, StrataError, storageBytes } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../cpu-backend.js';
import type { CpuTensor } from '../cpu-tensor.js';

/** A seeded generator (mulberry32), so that failures reproduce. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Rows of blocks of 32 values whose magnitudes span 1e-2 … 1e3 from block to block (f16 scales stay normal). */
function randomRows(rows: number, width: number, seed: number): Float32Array {
  const random = seeded(seed);
  const data = new Float32Array(rows * width);
  for (let block = 0; block < data.length / 32; block++) {
    const magnitude = 10 ** (random() * 5 - 2);
    for (let index = 0; index < 32; index++) data[block * 32 + index] = (random() * 2 - 1) * magnitude;
  }
  return data;
}

async function roundTrip(values: Float32Array, rows: number, width: number): Promise<Float32Array> {
  const backend = createCpuBackend();
  const cache = backend.createKeyValueCache(rows, width, 'q8_0');
  const tensor = backend.upload(values, [rows, width]);
  backend.writeKeyValues(cache, tensor, tensor, 0);
  return (await backend.read(cache.keys)) as Float32Array;
}

describe('q8_0 KV cache (CPU reference)', () => {
  it('dequantize(quantize(x)) is within d/2 of x, d = amax/127 in f64, and each block is q · d with |q| ≤ 127', async () => {
    const [rows, width] = [7, 192];
    const input = randomRows(rows, width, 11);
    const output = await roundTrip(input, rows, width);
    let worst = 0;
    for (let block = 0; block < input.length / 32; block++) {
      const x = input.subarray(block * 32, block * 32 + 32);
      const y = output.subarray(block * 32, block * 32 + 32);
      const amax = Math.max(...Array.from(x, Math.abs));
      const reference = amax / 127;
      // The stored scale is the f16 rounding of the reference (relative error ≤ 2^-11), and the element of largest
      // magnitude is ±127 quants of it, so it is max|y| / 127 (exact in f64).
      const scale = Math.max(...Array.from(y, Math.abs)) / 127;
      expect(Math.abs(scale - reference)).toBeLessThanOrEqual(reference * 2 ** -11);
      for (let index = 0; index < 32; index++) {
        const quant = y[index]! / scale;
        expect(Number.isInteger(quant) && Math.abs(quant) <= 127).toBe(true);
        const error = Math.abs(x[index]! - y[index]!);
        expect(error).toBeLessThanOrEqual(scale / 2);
        expect(error).toBeLessThanOrEqual((reference / 2) * (1 + 2 ** -11));
        worst = Math.max(worst, error / reference);
      }
    }
    // Rounding to the nearest quant does use the half step somewhere among 1344 values.
    expect(worst).toBeGreaterThan(0.45);
  });

  it('quantizes an all-zero block to zeros and is lossless when its output is quantized again', async () => {
    const [rows, width] = [3, 64];
    const input = randomRows(rows, width, 5);
    input.fill(0, 32, 64);
    const once = await roundTrip(input, rows, width);
    expect(Array.from(once.subarray(32, 64)).every((value) => value === 0)).toBe(true);
    const twice = await roundTrip(once, rows, width);
    expect(Array.from(twice)).toEqual(Array.from(once));
  });

  it('stores rows + 4·⌈width/64⌉ bytes per row and tensor: 34 bytes per 32 values (2 bytes of padding for odd blocks)', () => {
    const backend = createCpuBackend();
    const bytesPerToken = (cache: KeyValueCache, capacity: number) => {
      const bytes = [cache.keys, cache.values].map((tensor) => (tensor as CpuTensor).storage.data.byteLength);
      return (bytes[0]! + bytes[1]!) / capacity;
    };
    for (const [width, expected] of [
      [512, (2 * 512 * 34) / 32],
      [128, (2 * 128 * 34) / 32],
      [96, (2 * 96 * 34) / 32 + 4],
    ] as const) {
      const capacity = 10;
      const q8 = backend.createKeyValueCache(capacity, width, 'q8_0');
      const f32 = backend.createKeyValueCache(capacity, width, 'f32');
      expect(bytesPerToken(q8, capacity)).toBe(expected);
      expect(bytesPerToken(q8, capacity)).toBe((2 * storageBytes('q8_0', [capacity, width])) / capacity);
      expect(bytesPerToken(f32, capacity)).toBe(2 * 4 * width);
    }
  });

  it('rejects rows that are not whole blocks and heads that are not a multiple of 32 with SHAPE_MISMATCH', () => {
    const backend = createCpuBackend();
    const shapeMismatch = (error: unknown) => StrataError.isInstance(error, 'SHAPE_MISMATCH');
    expect(() => backend.createKeyValueCache(4, 48, 'q8_0')).toThrow(expect.toSatisfy(shapeMismatch));
    const cache = backend.createKeyValueCache(4, 32, 'q8_0');
    const queries = backend.zeros([1, 32]);
    const options = { heads: 2, keyValueHeads: 2, headDimensions: 16, firstPosition: 0, scale: 0.25 };
    expect(() => backend.attention(queries, cache, options)).toThrow(expect.toSatisfy(shapeMismatch));
    expect(() => backend.reshape(cache.keys, [2, 64])).toThrow(
      expect.toSatisfy((error: unknown) => StrataError.isInstance(error, 'DTYPE_MISMATCH')),
    );
  });
});
