import { samplingParameters } from '@strata/backend-conformance';
import type { Backend, SamplingParameters } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { describe, expect, it, vi } from 'vitest';
import { useBackendForTests } from '../../testing/backend-for-tests.js';
import type { WebGpuBackend } from '../../webgpu-backend.js';

const backend = useBackendForTests();

// Logits on a 0.25 grid: many exact ties, also at the top-k boundary, where rank order (lower id first) decides.
// (Settings avoid a top-p boundary that equal weights hit exactly: f32 and f64 sums round it differently.)
function tiedLogits(vocabulary: number): Float32Array {
  let state = 12345;
  return Float32Array.from({ length: vocabulary }, () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return Math.round((state / 2147483648) * 24 - 12) / 4;
  });
}

async function draws(
  backend: Backend,
  logits: Float32Array,
  settings: Partial<SamplingParameters>[],
): Promise<number[]> {
  const tensor = backend.upload(logits, [1, logits.length]);
  const tokens = [];
  for (const setting of settings) {
    for (const random of [0, 0.05, 0.3, 0.5, 0.77, 0.95, 0.9999]) {
      tokens.push(backend.sampleToken(tensor, samplingParameters({ ...setting, random })));
    }
  }
  const values = [];
  for (const token of tokens) values.push((await backend.read(token))[0]!);
  return values;
}

describe('sampleToken on WebGPU', () => {
  it('draws exactly the CPU reference tokens with top-k, top-p and min-p, including ties at the boundary', async (context) => {
    const gpu = backend(context);
    const logits = tiedLogits(3000);
    const settings: Partial<SamplingParameters>[] = [
      { topK: 40 },
      { temperature: 0.7, topK: 150, topP: 0.9 },
      { temperature: 1.3, topK: 100, minP: 0.3 },
      { temperature: 0.5, topK: 7, topP: 0.5, minP: 0.1 },
      { topK: 900 },
      // No top-k: exact when top-p or min-p ends inside the 512 best tokens.
      { temperature: 0.6, topP: 0.8 },
      { temperature: 0.9, minP: 0.4 },
      { temperature: 1.1, topP: 0.5, minP: 0.05 },
    ];
    expect(await draws(gpu, logits, settings)).toEqual(await draws(createCpuBackend(), logits, settings));
  });

  it('over a vocabulary of 20,000 (every step over many workgroups): the CPU reference tokens, with penalties, biases and a mask', async (context) => {
    const gpu = backend(context);
    // Scores spread evenly over [0, 3) in a shuffled order: no ties (the selection keeps every token of a tied key,
    // then takes the first); the kept sets are large (top-p and min-p without top-k run the selection over many
    // workgroups, top-k 50 the candidates kernel).
    const vocabulary = 20000;
    const order = Array.from({ length: vocabulary }, (_, index) => index);
    let state = 777;
    for (let index = vocabulary - 1; index > 0; index--) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      const other = state % (index + 1);
      [order[index], order[other]] = [order[other]!, order[index]!];
    }
    const logits = Float32Array.from(order, (rank) => (rank / vocabulary) * 3);
    const top = order.indexOf(vocabulary - 1);
    const penalties: Partial<SamplingParameters> = {
      penaltyTokens: Int32Array.of(top, 17, top),
      penaltyCounts: Int32Array.of(2, 1, 1),
      repetitionPenalty: 1.3,
      presencePenalty: 0.4,
      frequencyPenalty: 0.2,
      logitBiasTokens: Int32Array.of(100, vocabulary - 1),
      logitBiasValues: Float32Array.of(0.5, Number.NEGATIVE_INFINITY),
    };
    const settings: Partial<SamplingParameters>[] = [
      { temperature: 1 },
      { temperature: 0.8, topP: 0.97 },
      { temperature: 1.2, topK: 2000 },
      { temperature: 0.9, topK: 3000, topP: 0.9, minP: 0.2 },
      { temperature: 1, minP: 0.05 },
      // The first step over many workgroups: penalties (a repeated token), biases (one wins greedily, one bans), the
      // allowed-token bitmask (even tokens only), greedy through sampleToken.
      { temperature: 0, ...penalties },
      { temperature: 1, ...penalties },
      { temperature: 0.9, topK: 50, allowedTokens: new Uint32Array(Math.ceil(vocabulary / 32)).fill(0x55555555) },
    ];
    expect(await draws(gpu, logits, settings)).toEqual(await draws(createCpuBackend(), logits, settings));
    const dispatches = vi.spyOn((gpu as WebGpuBackend).runtime, 'dispatch');
    gpu.sampleToken(gpu.upload(logits, [1, vocabulary]), samplingParameters({ topP: 0.97, random: 0.5 }));
    const keys = dispatches.mock.calls.map(([command]) => command.shader.key);
    dispatches.mockRestore();
    expect(keys.some((key) => key.startsWith('sample-token:candidates'))).toBe(false);
    expect(keys.filter((key) => key === 'sample-token:select-histogram')).toHaveLength(16);
  });

  it('rejects bad options like the CPU reference', (context) => {
    const gpu = backend(context);
    const logits = gpu.upload(new Float32Array(4), [1, 4]);
    expect(() => gpu.sampleToken(logits, samplingParameters({ topP: 0 }))).toThrow(/topP/);
    expect(() =>
      gpu.sampleToken(logits, samplingParameters({ penaltyTokens: Int32Array.of(9), penaltyCounts: Int32Array.of(1) })),
    ).toThrow(expect.objectContaining({ code: 'TOKEN_OUT_OF_RANGE' }));
  });
});
