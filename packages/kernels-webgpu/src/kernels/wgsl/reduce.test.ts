import type { Backend, SamplingParameters } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendForTests } from '../../testing/backend-for-tests.js';
import type { WebGpuBackend } from '../../webgpu-backend.js';
import { testValues } from '../../testing/test-values.js';

// Every kernel with a workgroup reduction, with subgroups and with the shared-memory fallback, against the CPU backend.
const backends: { label: string; backend?: WebGpuBackend; reason?: string }[] = [
  { label: 'subgroups when the adapter has them' },
  { label: 'shared-memory fallback' },
];
beforeAll(async () => {
  for (const [index, entry] of backends.entries()) {
    const result = await backendForTests(index === 1 ? { disableFeatures: ['subgroups'] } : {});
    if (typeof result === 'string') entry.reason = result;
    else entry.backend = result;
  }
});
afterAll(() => {
  for (const entry of backends) entry.backend?.destroy();
});

const SAMPLING: SamplingParameters = {
  temperature: 0.8,
  topK: 40,
  topP: 0.9,
  minP: 0.02,
  random: 0.37,
  penaltyTokens: Int32Array.of(5, 30),
  penaltyCounts: Int32Array.of(2, 1),
  repetitionPenalty: 1.1,
  presencePenalty: 0.2,
  frequencyPenalty: 0.1,
  logitBiasTokens: Int32Array.of(7),
  logitBiasValues: Float32Array.of(-Infinity),
};

async function compute(backend: Backend): Promise<(Float32Array | Int32Array)[]> {
  const results: (Float32Array | Int32Array)[] = [];
  for (const columns of [50, 1500]) {
    const input = backend.upload(testValues(3 * columns, columns, 3), [3, columns]);
    const weight = await backend.uploadWeight(
      { name: 'w', type: 'F32', shape: [columns] },
      new Uint8Array(testValues(columns, 11, 3).buffer),
    );
    results.push(await backend.read(backend.rmsNorm(input, weight, 1e-5)));
    results.push(await backend.read(backend.layerNorm(input, weight, weight, 1e-5)));
    results.push(await backend.read(backend.softmax(input)));
    results.push(await backend.read(backend.argmax(input)));
    results.push(await backend.read(backend.sampleToken(input, SAMPLING)));
    results.push(await backend.read(backend.sampleToken(input, { ...SAMPLING, temperature: 0 })));
  }
  return results;
}

describe('workgroup reductions', () => {
  for (const [index, entry] of backends.entries()) {
    it(`match the CPU backend: ${entry.label}`, async (context) => {
      const backend = backends[index]!.backend;
      if (backend === undefined) return context.skip(backends[index]!.reason ?? '');
      if (index === 1) expect(backend.features.subgroups).toBe(false);
      const expected = await compute(createCpuBackend());
      const actual = await compute(backend);
      for (const [result, values] of actual.entries()) {
        const reference = expected[result]!;
        expect(values.length).toBe(reference.length);
        for (const [element, value] of values.entries()) {
          if (values instanceof Int32Array) expect(value).toBe(reference[element]);
          else
            expect(Math.abs(value - reference[element]!)).toBeLessThanOrEqual(
              2e-5 + 2e-5 * Math.abs(reference[element]!),
            );
        }
      }
    });
  }
});
