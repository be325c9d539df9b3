import type { Backend, KeyValueCache } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendForTests } from '../../testing/backend-for-tests.js';
import type { WebGpuBackend } from '../../webgpu-backend.js';
import { attentionTiling } from './attention.js';

let gpu: WebGpuBackend | undefined;
let reason = '';
beforeAll(async () => {
  const result = await backendForTests();
  if (typeof result === 'string') reason = result;
  else gpu = result;
});
afterAll(() => gpu?.destroy());

function values(count: number, seed: number): Float32Array {
  let state = seed;
  return Float32Array.from({ length: count }, () => {
    state = (state * 1103515245 + 12345) % 2147483648;
    return (state / 2147483648) * 2 - 1;
  });
}

interface Step {
  readonly firstPosition: number;
  readonly rows: number;
}

async function runSteps(
  backend: Backend,
  shape: { heads: number; keyValueHeads: number; headDimensions: number; capacity: number; window?: number },
  steps: readonly Step[],
): Promise<Float32Array[]> {
  const width = shape.keyValueHeads * shape.headDimensions;
  const cache: KeyValueCache = {
    keys: backend.zeros([shape.capacity, width]),
    values: backend.zeros([shape.capacity, width]),
  };
  const outputs: Float32Array[] = [];
  for (const [index, step] of steps.entries()) {
    const keys = backend.upload(values(step.rows * width, 3 + index), [step.rows, width]);
    const newValues = backend.upload(values(step.rows * width, 5 + index), [step.rows, width]);
    backend.writeKeyValues(cache, keys, newValues, step.firstPosition);
    const queries = backend.upload(values(step.rows * shape.heads * shape.headDimensions, 7 + index), [
      step.rows,
      shape.heads * shape.headDimensions,
    ]);
    const output = backend.attention(queries, cache, {
      ...shape,
      firstPosition: step.firstPosition,
      scale: 1 / Math.sqrt(shape.headDimensions),
    });
    outputs.push((await backend.read(output)) as Float32Array);
  }
  return outputs;
}

describe('attention on WebGPU', () => {
  it('picks tiles that fit workgroup memory', () => {
    expect(attentionTiling(1, 128, 16384)).toMatchObject({ queryRows: 1 });
    const prefill = attentionTiling(100, 256, 16384);
    expect((prefill.queryRows + prefill.keyTile) * 256 + prefill.queryRows * prefill.keyTile).toBeLessThanOrEqual(4096);
  });

  it('matches the CPU backend for GQA 4:1 prefill then decode', async (context) => {
    if (gpu === undefined) return context.skip(reason);
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
  }, 20_000);
});
