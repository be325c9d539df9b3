import type { Backend, KeyValueCache } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { describe, expect, it, vi } from 'vitest';
import { useBackendForTests } from '../../testing/backend-for-tests.js';
import type { WebGpuBackend } from '../../webgpu-backend.js';
import { attention } from './attention.js';
import { type AttentionTuning, planAttention } from './attention-plan.js';
import { planDecodeAttention } from './decode-attention.js';
import { testValues } from '../../testing/test-values.js';

const backend = useBackendForTests();
// Without subgroups a tile's softmax runs on one invocation per query slot (with them, on shuffles over 8 lanes).
const serialBackend = useBackendForTests({ disableFeatures: ['subgroups'] });
// Decode attention with 4 keys per split at least (the default is 64): a step over a few dozen keys runs several splits.
const splitBackend = useBackendForTests({ tuning: { decodeAttentionMinKeysPerSplit: 4 } });

interface Step {
  readonly firstPosition: number;
  readonly rows: number;
}

async function runSteps(
  backend: Backend,
  shape: { heads: number; keyValueHeads: number; headDimensions: number; capacity: number; window?: number },
  steps: readonly Step[],
  tuning?: AttentionTuning,
): Promise<Float32Array[]> {
  const width = shape.keyValueHeads * shape.headDimensions;
  const cache: KeyValueCache = {
    keys: backend.zeros([shape.capacity, width]),
    values: backend.zeros([shape.capacity, width]),
  };
  const outputs: Float32Array[] = [];
  for (const [index, step] of steps.entries()) {
    const keys = backend.upload(testValues(step.rows * width, 3 + index), [step.rows, width]);
    const newValues = backend.upload(testValues(step.rows * width, 5 + index), [step.rows, width]);
    backend.writeKeyValues(cache, keys, newValues, step.firstPosition);
    const queries = backend.upload(testValues(step.rows * shape.heads * shape.headDimensions, 7 + index), [
      step.rows,
      shape.heads * shape.headDimensions,
    ]);
    const options = { ...shape, firstPosition: step.firstPosition, scale: 1 / Math.sqrt(shape.headDimensions) };
    const output =
      tuning === undefined
        ? backend.attention(queries, cache, options)
        : attention((backend as WebGpuBackend).runtime, queries, cache, options, tuning);
    outputs.push((await backend.read(output)) as Float32Array);
  }
  return outputs;
}

describe('attention on WebGPU', () => {
  it('splits the keys of a decode step under the test tuning', () => {
    const plan = planAttention({ rows: 1, heads: 6, keyValueHeads: 2, headDimensions: 12, keys: 20 }, 32768, {
      maxSlots: 4,
      targetWorkgroups: 64,
      minKeysPerSplit: 4,
      maxKeyTile: 4,
    });
    expect(plan).toMatchObject({ headsPerBlock: 3, keyTile: 4, splits: 5 });
  });

  it('plans GQA groups, row blocks and key splits that fit workgroup memory', () => {
    const decode = planAttention({ rows: 1, heads: 32, keyValueHeads: 8, headDimensions: 128, keys: 8192 }, 32768);
    expect(decode).toMatchObject({ rowsPerBlock: 1, headsPerBlock: 4, slots: 4 });
    expect(decode.splits).toBeGreaterThan(1);
    const prefill = planAttention({ rows: 512, heads: 32, keyValueHeads: 8, headDimensions: 256, keys: 512 }, 16384);
    expect((prefill.slots + prefill.keyTile) * 256 + prefill.slots * prefill.keyTile).toBeLessThanOrEqual(4096);
    expect(prefill.splits).toBe(1);
    const odd = planAttention({ rows: 3, heads: 6, keyValueHeads: 2, headDimensions: 12, keys: 3 }, 32768);
    expect(odd.headsPerBlock).toBe(3);
  });

  for (const [label, make] of [
    ['', backend],
    [', without subgroups', serialBackend],
  ] as const) {
    it(`matches the CPU backend for GQA 4:1 prefill then decode${label}`, async (context) => {
      const gpu = make(context);
      const shape = { heads: 4, keyValueHeads: 1, headDimensions: 32, capacity: 16 };
      const steps = [
        { firstPosition: 0, rows: 7 },
        { firstPosition: 7, rows: 1 },
      ];
      const expected = await runSteps(createCpuBackend(), shape, steps);
      const actual = await runSteps(gpu, shape, steps);
      for (const [index, output] of actual.entries()) {
        for (const [element, value] of output.entries()) expect(value).toBeCloseTo(expected[index]![element]!, 4);
      }
    });
  }

  it('matches the CPU backend with a head size that is not a multiple of 4 (scalar tiles)', async (context) => {
    const gpu = backend(context);
    const shape = { heads: 6, keyValueHeads: 2, headDimensions: 6, capacity: 12 };
    const steps = [
      { firstPosition: 0, rows: 9 },
      { firstPosition: 9, rows: 2 },
    ];
    const expected = await runSteps(createCpuBackend(), shape, steps);
    const actual = await runSteps(gpu, shape, steps);
    for (const [index, output] of actual.entries()) {
      for (const [element, value] of output.entries()) expect(value).toBeCloseTo(expected[index]![element]!, 4);
    }
  });

  it('matches the CPU backend with keys split over workgroups, a window and a ring cache', async (context) => {
    const gpu = backend(context);
    const shape = { heads: 6, keyValueHeads: 2, headDimensions: 12, capacity: 24, window: 20 };
    const steps = [
      { firstPosition: 0, rows: 19 },
      { firstPosition: 19, rows: 1 },
      { firstPosition: 20, rows: 2 },
      { firstPosition: 22, rows: 1 },
      { firstPosition: 23, rows: 1 },
      { firstPosition: 24, rows: 1 },
    ];
    const tuning = { maxSlots: 4, targetWorkgroups: 64, minKeysPerSplit: 4, maxKeyTile: 4 };
    const expected = await runSteps(createCpuBackend(), shape, steps);
    const actual = await runSteps(gpu, shape, steps, tuning);
    for (const [index, output] of actual.entries()) {
      for (const [element, value] of output.entries()) expect(value).toBeCloseTo(expected[index]![element]!, 4);
    }
  });

  it('plans decode key splits from the tuning floor, within the score buffer', () => {
    const shape = { rows: 1, heads: 32, keyValueHeads: 8, headDimensions: 128, keys: 512 };
    // 8 blocks of 4 heads: 32 splits planned (256 workgroups); a step runs ⌈keys / floor⌉ of them.
    expect(planDecodeAttention(shape, 32768, 64)).toMatchObject({ keysPerSplit: 512, splits: 32, minKeysPerSplit: 64 });
    expect(planDecodeAttention(shape, 32768, 16)).toMatchObject({ keysPerSplit: 512, splits: 32, minKeysPerSplit: 16 });
    // Below 16 keys per split the planner also allows more splits than one per 16 keys.
    expect(planDecodeAttention({ ...shape, keyValueHeads: 32, keys: 64 }, 32768, 16)?.splits).toBe(4);
    expect(planDecodeAttention({ ...shape, keyValueHeads: 32, keys: 64 }, 32768, 4)?.splits).toBe(8);
    // 8 KB of workgroup memory holds 64 scores per head: the score buffer shrinks to the floor, never below it.
    expect(planDecodeAttention(shape, 8192, 64)?.keysPerSplit).toBe(64);
    expect(planDecodeAttention(shape, 8192, 48)?.keysPerSplit).toBe(64);
    expect(planDecodeAttention(shape, 8192, 100)).toBeUndefined();
    // A higher occupancy target plans more splits for a long cache (a step still runs ⌈keys / floor⌉ at most).
    const long = { ...shape, keys: 16384 };
    expect(planDecodeAttention(long, 32768, 64)?.splits).toBe(32);
    expect(planDecodeAttention(long, 32768, 64, 1024)?.splits).toBe(128);
  });

  it('matches the CPU backend with a decode key-split floor of 4 (many splits and their combine)', async (context) => {
    const gpu = splitBackend(context);
    const shape = { heads: 4, keyValueHeads: 2, headDimensions: 16, capacity: 40, window: 30 };
    const steps = [
      { firstPosition: 0, rows: 27 },
      { firstPosition: 27, rows: 1 },
      { firstPosition: 28, rows: 1 },
      { firstPosition: 29, rows: 1 },
      { firstPosition: 30, rows: 1 },
    ];
    const spy = vi.spyOn(gpu.runtime, 'dispatch');
    const actual = await runSteps(gpu, shape, steps);
    const keys = spy.mock.calls.map(([command]) => command.shader.key);
    spy.mockRestore();
    expect(keys.filter((key) => key.startsWith('attention-decode:') && key.includes(':min=4:'))).toHaveLength(4);
    expect(keys.filter((key) => key.startsWith('attention-decode-combine:'))).toHaveLength(4);
    const expected = await runSteps(createCpuBackend(), shape, steps);
    for (const [index, output] of actual.entries()) {
      for (const [element, value] of output.entries()) expect(value).toBeCloseTo(expected[index]![element]!, 4);
    }
  });
});
