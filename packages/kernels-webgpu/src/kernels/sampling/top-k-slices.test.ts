import { samplingParameters } from '@strata/backend-conformance';
import type { Backend, SamplingParameters } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { describe, expect, it, vi } from 'vitest';
import { useBackendForTests } from '../../testing/backend-for-tests.js';
import { testValues } from '../../testing/test-values.js';
import type { WebGpuBackend } from '../../webgpu-backend.js';
import { TOP_K_BOUND } from './top-k-slices.js';

// Top-k up to TOP_K_BOUND over slices of the vocabulary, against the CPU reference, with and without subgroups.
const backends = [
  { label: 'subgroups', backend: useBackendForTests() },
  { label: 'no subgroups', backend: useBackendForTests({ disableFeatures: ['subgroups'] }) },
];

// Draws where `random` × the kept mass is far from a whole number of equal weights (f32 and f64 agree there).
const RANDOMS = [0, 0.013, 0.29, 0.61, 0.8837, 0.97];

async function draws(backend: Backend, logits: Float32Array, settings: Partial<SamplingParameters>[]) {
  const tensor = backend.upload(logits, [1, logits.length]);
  const tokens = settings.flatMap((setting) =>
    RANDOMS.map((random) => backend.sampleToken(tensor, samplingParameters({ ...setting, random }))),
  );
  const values = [];
  for (const token of tokens) values.push((await backend.read(token))[0]!);
  return values;
}

/** Keys of the kernels one `sampleToken` dispatches. */
function kernelKeys(gpu: WebGpuBackend, logits: Float32Array, setting: Partial<SamplingParameters>): string[] {
  const dispatches = vi.spyOn(gpu.runtime, 'dispatch');
  gpu.sampleToken(gpu.upload(logits, [1, logits.length]), samplingParameters({ ...setting, random: 0.5 }));
  const keys = dispatches.mock.calls.map(([command]) => command.shader.key);
  dispatches.mockRestore();
  return keys;
}

describe('sampleToken with top-k over slices of the vocabulary', () => {
  for (const { label, backend } of backends) {
    it(`draws the CPU reference tokens over 18,000 tied logits in three levels (${label})`, async (context) => {
      const gpu = backend(context);
      // A 0.002 grid over [-3, 3]: about 6 tokens share each value, so top-k boundaries fall inside ties (where rank
      // order, lower id first, decides) while the weights differ (no top-p boundary that equal weights hit exactly:
      // f32 and f64 sums round it differently). 18,000 is not a multiple of the 2,048-score slice (9 slices, then 2
      // lists, then the draw).
      const vocabulary = 18000;
      const logits = Float32Array.from(testValues(vocabulary, 3, 1), (value) => Math.round(value * 1500) / 500);
      const sorted = [...logits].sort((a, b) => b - a);
      for (const k of [40, TOP_K_BOUND]) expect(sorted[k]).toBe(sorted[k - 1]);
      const mask = new Uint32Array(Math.ceil(vocabulary / 32)).fill(0x49249249); // every third token of each word
      const settings: Partial<SamplingParameters>[] = [
        { topK: 1, temperature: 0.7 },
        { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05 },
        { temperature: 1.3, topK: TOP_K_BOUND },
        { temperature: 0.6, topK: TOP_K_BOUND, topP: 0.9, minP: 0.01 },
        { temperature: 1, topK: 100, allowedTokens: mask },
      ];
      expect(await draws(gpu, logits, settings)).toEqual(await draws(createCpuBackend(), logits, settings));
      const keys = kernelKeys(gpu, logits, settings[1]!);
      expect(keys.filter((key) => key.startsWith('sample-token:top-k'))).toHaveLength(3);
      expect(keys.some((key) => key.startsWith('sample-token:candidates'))).toBe(false);
    });
  }

  it('keeps the first k of more than 1,024 tied tokens, and fewer allowed tokens than k, like the CPU reference', async (context) => {
    const gpu = backends[0]!.backend(context);
    // All-equal logits over 5,000 tokens (3 slices, then the draw) and over 1,500 (one workgroup does all).
    const settings: Partial<SamplingParameters>[] = [
      // 45: the cut falls inside one invocation's 8 entries.
      { topK: 45 },
      { temperature: 0.5, topK: TOP_K_BOUND, minP: 0.5 },
      // 32 allowed tokens, spread over the slices, under top-k 40.
      {
        topK: 40,
        allowedTokens: Uint32Array.from({ length: Math.ceil(5000 / 32) }, (_, word) => (word % 10 === 1 ? 0x10001 : 0)),
      },
    ];
    for (const vocabulary of [5000, 1500]) {
      const logits = new Float32Array(vocabulary).fill(1.5);
      const used = vocabulary === 5000 ? settings : settings.slice(0, 2);
      expect(await draws(gpu, logits, used)).toEqual(await draws(createCpuBackend(), logits, used));
    }
  });
});
