import { samplingParameters } from '@strata/backend-conformance';
import type { Backend, SamplingParameters } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { describe, expect, it, vi } from 'vitest';
import { useBackendForTests } from '../../testing/backend-for-tests.js';
import type { WebGpuBackend } from '../../webgpu-backend.js';

// The selection over many workgroups (plain temperature sampling, top-p without top-k over a vocabulary): one pass
// per level, each reducing the level before, against the CPU reference.
const backend = useBackendForTests();

async function draws(backend: Backend, logits: Float32Array, settings: Partial<SamplingParameters>[]) {
  const tensor = backend.upload(logits, [1, logits.length]);
  const tokens = settings.flatMap((setting) =>
    [0, 0.11, 0.42, 0.58, 0.93, 0.9999].map((random) =>
      backend.sampleToken(tensor, samplingParameters({ ...setting, random })),
    ),
  );
  const values = [];
  for (const token of tokens) values.push((await backend.read(token))[0]!);
  return values;
}

describe('sampleToken by the selection over many workgroups', () => {
  it('draws the CPU reference tokens, in 8 passes per bisection, the choice and the store', async (context) => {
    const gpu = backend(context) as WebGpuBackend;
    // Distinct scores (the selection keeps every token tied at a threshold), most of them far below the best.
    const vocabulary = 10000;
    const logits = Float32Array.from(
      { length: vocabulary },
      (_, token) => (6 * ((token * 7919) % vocabulary) ** 4) / vocabulary ** 4,
    );
    const settings: Partial<SamplingParameters>[] = [{ temperature: 1 }, { temperature: 0.6, topP: 0.9 }];
    expect(await draws(gpu, logits, settings)).toEqual(await draws(createCpuBackend(), logits, settings));
    for (const [setting, histograms] of [
      [settings[0]!, 8],
      [settings[1]!, 16],
    ] as const) {
      const dispatches = vi.spyOn(gpu.runtime, 'dispatch');
      gpu.sampleToken(gpu.upload(logits, [1, vocabulary]), samplingParameters({ ...setting, random: 0.5 }));
      const keys = dispatches.mock.calls.map(([command]) => command.shader.key).filter((key) => key.includes('select'));
      dispatches.mockRestore();
      expect(keys).toEqual([
        ...Array<string>(histograms).fill('sample-token:select-histogram'),
        'sample-token:select-choose',
        'sample-token:select-store',
      ]);
    }
  });
});
