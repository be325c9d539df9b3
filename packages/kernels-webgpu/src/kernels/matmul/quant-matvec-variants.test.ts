import type { Backend, Tensor } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { describe, expect, it, vi } from 'vitest';
import { backendForTests } from '../../testing/backend-for-tests.js';
import { type QuantMatvecTuning, quantMatvecKey } from './quant-matvec-shader.js';
import { quantBaseRows, randomValues } from './testing/weight-fixtures.js';

// The one-row quantized layouts `matmul` does not route (the conformance suite and `matmul.test.ts` cover the routed
// ones), selected with the backend's `tuning.quantMatvec`, against the CPU backend on real rows of the quant-base
// model (512 columns): the product with bias (9 rows: a partly filled workgroup) and, for one variant of each layout,
// the fused norm with a 3-part split store and the fused norm with the gate·up store (2 × 9 rows; the `rows` layout,
// whose lanes load the same columns, checks that each column counts once in the sum of squares). The other
// conversion of a layout runs the product only; the reductions without subgroups are the ones `matmul.test.ts` runs
// on the routed Q4_K layout. Few cases: lavapipe compiles each kernel slowly.

interface Case {
  readonly type: 'Q4_K' | 'Q8_0';
  readonly tuning: QuantMatvecTuning;
  /** Also the fused projections. */
  readonly fused: boolean;
}

const CASES: readonly Case[] = [
  { type: 'Q4_K', tuning: { layout: 'group', rowsPerWorkgroup: 4, conversion: 'integer' }, fused: false },
  { type: 'Q4_K', tuning: { layout: 'vector', rowsPerWorkgroup: 4, workgroupSize: 64 }, fused: true },
  {
    type: 'Q4_K',
    tuning: { layout: 'rows', rowsPerWorkgroup: 8, workgroupSize: 64, conversion: 'integer' },
    fused: true,
  },
  { type: 'Q8_0', tuning: { layout: 'group', rowsPerWorkgroup: 4 }, fused: true },
  { type: 'Q8_0', tuning: { layout: 'group', rowsPerWorkgroup: 2, conversion: 'mantissa' }, fused: false },
];

const ROWS = 9;

/** The outputs of the case's ops on `backend` (the same calls on the GPU and the CPU). */
async function run(backend: Backend, test: Case, columns: number, bytes: Uint8Array): Promise<Float32Array[]> {
  const upload = (name: string, values: Float32Array) =>
    backend.uploadWeight({ name, type: 'F32', shape: [values.length] }, new Uint8Array(values.buffer));
  const half = bytes.subarray(0, bytes.length / 2);
  const weight = await backend.uploadWeight({ name: 'w', type: test.type, shape: [ROWS, columns] }, half);
  const bias = await upload('b', randomValues(ROWS, 2));
  const input = backend.upload(randomValues(columns, 1), [1, columns]);
  const outputs: Tensor[] = [backend.matmul(input, weight, bias)];
  if (test.fused) {
    const gateUp = await backend.uploadWeight({ name: 'gate_up', type: test.type, shape: [2 * ROWS, columns] }, bytes);
    const norm = { weight: await upload('gain', randomValues(columns, 3)), epsilon: 1e-5 };
    outputs.push(...backend.rmsNormMatmul(input, norm, [{ weight, bias, widths: [4, 3, 2] }]));
    outputs.push(backend.rmsNormGatedMatmul(input, norm, gateUp, 'silu'));
  }
  const values: Float32Array[] = [];
  for (const output of outputs) values.push((await backend.read(output)) as Float32Array);
  return values;
}

function expectNear(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  const scale = expected.reduce((largest, value) => Math.max(largest, Math.abs(value)), 0);
  for (let index = 0; index < expected.length; index++) {
    const error = Math.abs(actual[index]! - expected[index]!);
    if (!(error <= 1e-4 * scale + 1e-6)) {
      expect.fail(`${what}: element ${index} is ${actual[index]}, the CPU backend ${expected[index]}`);
    }
  }
}

describe('WebGPU one-row quantized layouts', () => {
  for (const test of CASES) {
    const { type, tuning } = test;
    const name = `${type} ${tuning.layout} r${tuning.rowsPerWorkgroup} wg${tuning.workgroupSize ?? '-'} ${tuning.conversion ?? 'default'}`;
    it(`${name}: product with bias${test.fused ? ', norm + split store, norm + gate·up' : ''}`, async (context) => {
      const { bytes, columns } = await quantBaseRows(type, 2 * ROWS);
      const backend = await backendForTests({ tuning: { quantMatvec: { [type]: tuning } } });
      if (typeof backend === 'string') return context.skip(backend);
      try {
        const expected = await run(createCpuBackend(), test, columns, bytes);
        const dispatches = vi.spyOn(backend.runtime, 'dispatch');
        const actual = await run(backend, test, columns, bytes);
        // Every product ran the chosen kernel: the tuning part of its key (after the subgroups flag).
        const plain = quantMatvecKey({ type, columns, bias: false, subgroups: false, tuning });
        const knobs = plain.slice(plain.indexOf(':sg=0:') + 5);
        const keys = dispatches.mock.calls
          .map(([command]) => command.shader.key)
          .filter((shader) => shader.startsWith(`matvec-quant:${type}:`));
        dispatches.mockRestore();
        expect(keys.length, 'one-row dispatches').toBe(test.fused ? 3 : 1);
        for (const shader of keys) expect(shader).toContain(knobs);
        expect(actual.map((values) => values.length)).toEqual(test.fused ? [ROWS, 4, 3, 2, ROWS] : [ROWS]);
        actual.forEach((values, index) => {
          expectNear(values, expected[index]!, `${name}, output ${index}`);
        });
      } finally {
        backend.destroy();
      }
    });
  }

  it('rejects a tuning no kernel can take', async () => {
    const tuning = { layout: 'rows', rowsPerWorkgroup: 12, workgroupSize: 64 } as const;
    await expect(backendForTests({ tuning: { quantMatvec: { Q4_K: tuning } } })).rejects.toMatchObject({
      code: 'INVALID_CONFIG',
    });
  });
});
