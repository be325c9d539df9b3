// The suite's own checks: its comparisons must fail on a backend that differs from the reference.
import type { Backend, Tensor, WeightTensor } from '@strata/core';
import { createCpuBackend, dequantize } from '@strata/kernels-cpu';
import { describe, expect, it } from 'vitest';
import { compareWithReference, createContext, expectClose, weightBytesFor } from './harness.js';
import { SeededRandom } from './random.js';
import { randomWeightBytes } from './weights.js';

/** A CPU backend whose matmul adds `error` to every output: a stand-in for a faulty kernel. */
function faultyBackend(error: number): Backend {
  const cpu = createCpuBackend();
  return Object.assign(Object.create(cpu) as Backend, {
    matmul(input: Tensor, weight: WeightTensor, bias?: WeightTensor): Tensor {
      const out = weight.shape[0]!;
      return cpu.add(cpu.matmul(input, weight, bias), cpu.upload(new Float32Array(out).fill(error), [out]));
    },
  });
}

describe('conformance harness', () => {
  it('compares within tolerance and reports the worst element beyond it', () => {
    const expected = Float32Array.of(1, 2, 3);
    expectClose(Float32Array.of(1, 2.0001, 3), expected, { absolute: 2e-4, relative: 0 }, 'close');
    expect(() => expectClose(Float32Array.of(1, 2.01, 3), expected, { absolute: 1e-4, relative: 0 }, 'far')).toThrow(
      /worst at 1/,
    );
    expect(() => expectClose(Int32Array.of(1, 2), Int32Array.of(1, 3), { absolute: 1, relative: 1 }, 'ids')).toThrow();
    expect(() =>
      expectClose(Float32Array.of(Number.NaN), Float32Array.of(1), { absolute: 1, relative: 0 }, 'nan'),
    ).toThrow();
  });

  it('fails a backend whose matmul is off by more than the tolerance, passes one within it', async () => {
    const bytes = weightBytesFor('harness', 'Q4_K', 3, 256);
    const input = new SeededRandom(1).floats(256);
    const compute = async (backend: Backend) => {
      const weight = await backend.uploadWeight({ name: 'w', type: 'Q4_K', shape: [3, 256] }, bytes);
      return backend.matmul(backend.upload(input, [1, 256]), weight);
    };
    const reference = createCpuBackend();
    const faulty = faultyBackend(1e-2);
    await expect(
      compareWithReference(
        createContext(() => faulty, reference),
        'matmul',
        'faulty',
        compute,
      ),
    ).rejects.toThrow(/matmul faulty/);
    const slightlyOff = faultyBackend(1e-5);
    await compareWithReference(
      createContext(() => slightlyOff, reference),
      'matmul',
      'within',
      compute,
    );
  });

  it('generates the same valid weight bytes from the same seed, with finite values of bounded size', () => {
    for (const type of ['Q8_0', 'Q2_K', 'Q3_K', 'Q4_K', 'Q5_K', 'Q6_K', 'IQ4_XS', 'BF16'] as const) {
      const a = randomWeightBytes(type, 2, 256, new SeededRandom(5));
      const b = randomWeightBytes(type, 2, 256, new SeededRandom(5));
      expect(a).toEqual(b);
      const values = dequantize(type, a, 512);
      expect(values.every((value) => Number.isFinite(value) && Math.abs(value) < 4)).toBe(true);
      expect(values.some((value) => Math.abs(value) > 0.3)).toBe(true);
    }
  });
});
