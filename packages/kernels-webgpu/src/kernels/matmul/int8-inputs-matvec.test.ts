import type { Backend, Tensor } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { describe, expect, it, vi } from 'vitest';
import { backendForTests } from '../../testing/backend-for-tests.js';
import { quantizeActivations } from './int8/activation-quantization.js';
import { int8GemmReference, int8WeightBlocks } from './int8/int8-gemm-reference.js';
import { quantBaseRows, randomValues } from './testing/weight-fixtures.js';

// The Q4_K and Q8_0 `group` layouts with the `int8` conversion (inputs rounded to 8 bits inside the kernel) against the int8
// contract computed on the CPU (`int8-gemm-reference.ts`): the product with bias over 9 rows (a partly filled
// workgroup) and the fused RMS norm with a 3-part split store, whose inputs are rounded after the norm's gain and
// whose sums are scaled by the norm's inverse. The exact f32 product differs from the contract by far more than the
// tolerance, so the test tells the two apart. A batched product of 3 rows on the same kernel (row groups) gives each
// row's one-row product bit for bit: each input row is rounded on its own.

const ROWS = 9;
const TUNING = { layout: 'group', rowsPerWorkgroup: 4, conversion: 'int8' } as const;
const EPSILON = 1e-5;

type Int8Type = 'Q4_K' | 'Q8_0';

async function inputs(backend: Backend, type: Int8Type, bytes: Uint8Array, columns: number) {
  const upload = (name: string, values: Float32Array) =>
    backend.uploadWeight({ name, type: 'F32', shape: [values.length] }, new Uint8Array(values.buffer));
  return {
    weight: await backend.uploadWeight({ name: 'w', type, shape: [ROWS, columns] }, bytes),
    bias: await upload('b', randomValues(ROWS, 2)),
    gain: await upload('gain', randomValues(columns, 3)),
    input: backend.upload(randomValues(columns, 1), [1, columns]),
  };
}

/** The contract: the 8-bit product of `values` with the weight, times `factor`, plus the bias; and its magnitude. */
function contract(type: Int8Type, values: Float32Array, bytes: Uint8Array, columns: number, factor: number) {
  const product = int8GemmReference(
    quantizeActivations(values, 1, columns),
    int8WeightBlocks(type, bytes, ROWS, columns),
  );
  const bias = randomValues(ROWS, 2);
  return {
    result: Array.from(product.result, (value, row) => value * factor + bias[row]!),
    magnitude: Array.from(product.magnitude, (value, row) => value * factor + Math.abs(bias[row]!)),
  };
}

function expectWithin(actual: Float32Array, expected: ReturnType<typeof contract>, what: string): void {
  expect(actual.length, what).toBe(expected.result.length);
  actual.forEach((value, row) => {
    const error = Math.abs(value - expected.result[row]!);
    if (!(error <= 1e-5 * expected.magnitude[row]!)) {
      expect.fail(`${what}: row ${row} is ${value}, the int8 contract ${expected.result[row]} (error ${error})`);
    }
  });
}

describe('WebGPU one-row quantized products on 8-bit inputs', () => {
  it.for(['Q8_0', 'Q4_K'] as const)(
    '%s: the int8 contract, plain and with the fused norm and split store',
    async (type, context) => {
      const { bytes, columns } = await quantBaseRows(type, ROWS);
      const backend = await backendForTests({ tuning: { quantMatvec: { [type]: TUNING } } });
      if (typeof backend === 'string') return context.skip(backend);
      try {
        const gpu = await inputs(backend, type, bytes, columns);
        const dispatches = vi.spyOn(backend.runtime, 'dispatch');
        const outputs: Tensor[] = [
          backend.matmul(gpu.input, gpu.weight, gpu.bias),
          ...backend.rmsNormMatmul(gpu.input, { weight: gpu.gain, epsilon: EPSILON }, [
            { weight: gpu.weight, bias: gpu.bias, widths: [4, 3, 2] },
          ]),
        ];
        const keys = dispatches.mock.calls.map(([command]) => command.shader.key);
        dispatches.mockRestore();
        const int8Keys = keys.filter((key) => key.startsWith(`matvec-quant:${type}:`) && key.includes(':int8'));
        expect(int8Keys.length, 'dispatches of the int8 kernel').toBe(2);
        const [plain, ...parts] = await Promise.all(
          outputs.map(async (output) => (await backend.read(output)) as Float32Array),
        );
        const values = randomValues(columns, 1);
        const plainContract = contract(type, values, bytes, columns, 1);
        expectWithin(plain!, plainContract, 'product');
        const gain = randomValues(columns, 3);
        const squares = values.reduce((total, value) => total + value * value, 0);
        const inverse = 1 / Math.sqrt(squares / columns + EPSILON);
        const gained = values.map((value, index) => value * gain[index]!);
        const fused = Float32Array.from(parts.flatMap((part) => Array.from(part)));
        expectWithin(fused, contract(type, gained, bytes, columns, inverse), 'norm + split store');
        // The exact product is far from the contract: the kernel did round its inputs.
        const cpu = createCpuBackend();
        const reference = await inputs(cpu, type, bytes, columns);
        const exact = (await cpu.read(cpu.matmul(reference.input, reference.weight, reference.bias))) as Float32Array;
        const gaps = Array.from(
          exact,
          (value, row) => Math.abs(value - plainContract.result[row]!) / plainContract.magnitude[row]!,
        );
        expect(Math.max(...gaps)).toBeGreaterThan(1e-4);
      } finally {
        backend.destroy();
      }
    },
  );

  it('Q8_0: each row of a batched product (row groups, batchQuantRows) equals its one-row product bit for bit', async (context) => {
    const { bytes, columns } = await quantBaseRows('Q8_0', ROWS);
    const backend = await backendForTests({ tuning: { batchQuantRows: 8, quantMatvec: { Q8_0: TUNING } } });
    if (typeof backend === 'string') return context.skip(backend);
    try {
      const gpu = await inputs(backend, 'Q8_0', bytes, columns);
      const rows = 3;
      const values = randomValues(rows * columns, 7);
      const dispatches = vi.spyOn(backend.runtime, 'dispatch');
      const batched = backend.matmul(backend.upload(values, [rows, columns]), gpu.weight, gpu.bias);
      const keys = dispatches.mock.calls.map(([command]) => command.shader.key);
      dispatches.mockRestore();
      expect(keys.some((key) => key.includes(':int8') && key.includes(':in=3'))).toBe(true);
      const together = (await backend.read(batched)) as Float32Array;
      for (let row = 0; row < rows; row++) {
        const alone = backend.upload(values.slice(row * columns, (row + 1) * columns), [1, columns]);
        const one = (await backend.read(backend.matmul(alone, gpu.weight, gpu.bias))) as Float32Array;
        expect(Array.from(together.subarray(row * ROWS, (row + 1) * ROWS)), `row ${row}`).toEqual(Array.from(one));
      }
    } finally {
      backend.destroy();
    }
  });

  it('rejects the int8 conversion outside the Q4_K and Q8_0 group layouts', async () => {
    for (const quantMatvec of [
      { Q8_0: { layout: 'rows', rowsPerWorkgroup: 32, conversion: 'int8' } },
      { Q4_K: { layout: 'vector', rowsPerWorkgroup: 4, conversion: 'int8' } },
      { Q6_K: { rowsPerWorkgroup: 2, conversion: 'int8' } },
    ] as const) {
      await expect(backendForTests({ tuning: { quantMatvec } })).rejects.toMatchObject({ code: 'INVALID_CONFIG' });
    }
  });
});
