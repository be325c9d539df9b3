import type { Tensor, WeightTensor } from '@strata/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { backendForTests } from '../../testing/backend-for-tests.js';
import type { WebGpuBackend } from '../../webgpu-backend.js';
import { DEFAULT_QUANT_TUNING, Q4K_MATVEC_TUNING } from './quant-matvec-shader.js';
import { quantBaseRows, randomValues } from './testing/weight-fixtures.js';

// Batch invariance of the decode products: with `tuning.batchQuantRows`, a product of several rows with a Q4_K or
// Q6_K weight runs the one-row kernel over row groups (`batchedQuantKernel`), so each row of it must equal the product of that row alone bit for
// bit — plain with a bias, and for Q4_K also with the fused norm and a 3-part split store, with the gate·up store and
// with the residual add (the stores are the same text for every type). 11 rows run as 2 row groups of 6 (the last padded), 3 rows as one group. Real rows of the quant-base model
// (512 columns); the reduction without subgroups for Q4_K only (lavapipe compiles each kernel variant slowly). Closeness to the CPU
// reference is the conformance suite's and `matmul.test.ts`'s.

let backend: WebGpuBackend | undefined;
let plain: WebGpuBackend | undefined;
let reason = 'Dawn found no WebGPU adapter';
// Row groups of up to 8 rows (`batchQuantRows`, off by default). Two weight rows per workgroup instead of the routed 4
// (Q4_K) and 8 (Q6_K): the rows per workgroup change no row's arithmetic, and lavapipe compiles the smaller kernels
// several times faster.
const tuning = {
  batchQuantRows: 8,
  quantMatvec: {
    Q4_K: { ...Q4K_MATVEC_TUNING, rowsPerWorkgroup: 2 },
    Q6_K: { ...DEFAULT_QUANT_TUNING, rowsPerWorkgroup: 2 },
  },
};
beforeAll(async () => {
  const withSubgroups = await backendForTests({ tuning });
  const withoutSubgroups = await backendForTests({ tuning, disableFeatures: ['subgroups'] });
  if (typeof withSubgroups === 'string') reason = withSubgroups;
  else backend = withSubgroups;
  if (typeof withoutSubgroups !== 'string') plain = withoutSubgroups;
});
afterAll(() => {
  backend?.destroy();
  plain?.destroy();
});

const OUT = 12;
const WIDTHS = [6, 4, 2];

interface Weights {
  readonly weight: WeightTensor;
  readonly gateUp: WeightTensor;
  readonly bias: WeightTensor;
  readonly gain: WeightTensor;
}

async function upload(gpu: WebGpuBackend, type: 'Q4_K' | 'Q6_K'): Promise<{ weights: Weights; columns: number }> {
  const { bytes, columns } = await quantBaseRows(type, 2 * OUT);
  const vector = (name: string, values: Float32Array) =>
    gpu.uploadWeight({ name, type: 'F32', shape: [values.length] }, new Uint8Array(values.buffer));
  const weights = {
    weight: await gpu.uploadWeight({ name: 'w', type, shape: [OUT, columns] }, bytes.subarray(0, bytes.length / 2)),
    gateUp: await gpu.uploadWeight({ name: 'gate_up', type, shape: [2 * OUT, columns] }, bytes),
    bias: await vector('b', randomValues(OUT, 2)),
    gain: await vector('g', randomValues(columns, 3)),
  };
  return { weights, columns };
}

/**
 * The product of `input` `[rows, columns]` with a bias and, when `fused`, the three fused ones (the residual
 * `[rows, OUT]` for the last): each output as read back.
 */
async function products(
  gpu: WebGpuBackend,
  weights: Weights,
  input: Tensor,
  residual: Tensor,
  fused: boolean,
): Promise<Float32Array[]> {
  const norm = { weight: weights.gain, epsilon: 1e-5 };
  const outputs = [gpu.matmul(input, weights.weight, weights.bias)];
  if (fused) {
    outputs.push(
      ...gpu.rmsNormMatmul(input, norm, [{ weight: weights.weight, widths: WIDTHS }]),
      gpu.rmsNormGatedMatmul(input, norm, weights.gateUp, 'silu'),
      gpu.matmulAdd(input, weights.weight, residual),
    );
  }
  const values: Float32Array[] = [];
  for (const output of outputs) values.push((await gpu.read(output)) as Float32Array);
  return values;
}

function expectSameBits(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  const actualBits = new Uint32Array(actual.buffer, actual.byteOffset, actual.length);
  const expectedBits = new Uint32Array(expected.buffer, expected.byteOffset, expected.length);
  for (let index = 0; index < expected.length; index++) {
    if (actualBits[index] !== expectedBits[index]) {
      expect.fail(`${what}: element ${index} is ${actual[index]}, alone ${expected[index]}`);
    }
  }
}

describe('WebGPU batched decode products', () => {
  const cases = [
    { type: 'Q4_K', subgroups: true, rows: 11, groupRows: 6, fused: true },
    { type: 'Q4_K', subgroups: false, rows: 3, groupRows: 3, fused: true },
    { type: 'Q6_K', subgroups: true, rows: 3, groupRows: 3, fused: false },
  ] as const;
  for (const { type, subgroups, rows: ROWS, groupRows, fused } of cases) {
    const name = `${type}${subgroups ? '' : ' without subgroups'}${fused ? ', fused' : ''}`;
    it(`${name}: each of ${ROWS} rows equals its product alone, bit for bit`, async (context) => {
      const gpu = subgroups ? backend : plain;
      if (gpu === undefined) return context.skip(reason);
      const { weights, columns } = await upload(gpu, type);
      const inputValues = randomValues(ROWS * columns, 7);
      const residualValues = randomValues(ROWS * OUT, 8);
      const dispatches = vi.spyOn(gpu.runtime, 'dispatch');
      const batched = await products(
        gpu,
        weights,
        gpu.upload(inputValues, [ROWS, columns]),
        gpu.upload(residualValues, [ROWS, OUT]),
        fused,
      );
      const keys = dispatches.mock.calls.map(([command]) => command.shader.key);
      dispatches.mockRestore();
      // Every product ran the one-row kernel over row groups, one dispatch each.
      const batchedKeys = keys.filter(
        (key) => key.startsWith(`matvec-quant:${type}:`) && key.includes(`:in=${groupRows}`),
      );
      expect(batchedKeys).toHaveLength(fused ? 4 : 1);
      const widths = fused ? [OUT, ...WIDTHS, OUT, OUT] : [OUT];
      expect(batched.map((values) => values.length)).toEqual(widths.map((width) => ROWS * width));
      for (let row = 0; row < ROWS; row++) {
        const alone = await products(
          gpu,
          weights,
          gpu.upload(inputValues.subarray(row * columns, (row + 1) * columns), [1, columns]),
          gpu.upload(residualValues.subarray(row * OUT, (row + 1) * OUT), [1, OUT]),
          fused,
        );
        alone.forEach((values, output) => {
          const width = values.length;
          expectSameBits(
            batched[output]!.subarray(row * width, (row + 1) * width),
            values,
            `row ${row}, output ${output}`,
          );
        });
      }
    });
  }
});
