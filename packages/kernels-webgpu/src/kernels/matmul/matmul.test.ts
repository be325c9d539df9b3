import { WEIGHT_TYPES } from '@strata/core';
import { dequantize, floatToBfloat16, floatToHalf } from '@strata/kernels-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendForTests } from '../../testing/backend-for-tests.js';
import type { WebGpuBackend } from '../../webgpu-backend.js';
import { floatProductReference } from './testing/float-product-reference.js';
import { quantBaseRows, randomValues } from './testing/weight-fixtures.js';

// matmul and matmulExperts for every weight type against "dequantize on the CPU, multiply in float64": real quantized
// rows of the quant-base model, odd output counts, 1 input row (wide mat-vec) and 3 with bias (row-group mat-vec),
// weights split into several chunks, 70 rows with bias (tiled), and 1 row without subgroups. Few variants: lavapipe
// compiles each pipeline slowly.

const OUT = 37;

let backend: WebGpuBackend | undefined;
let plain: WebGpuBackend | undefined;
beforeAll(async () => {
  // f32 activations: the 70-row products test the f32 tiles and the 30-row ones the multi-row mat-vec
  // (int8-matmul.test.ts and int8-batch-matvec.test.ts cover the int8 defaults).
  const chunked = await backendForTests({ maxChunkBytes: 4096, tuning: { int8Prefill: false, int8BatchRows: 0 } });
  const withoutSubgroups = await backendForTests({ disableFeatures: ['subgroups'] });
  if (typeof chunked !== 'string') backend = chunked;
  if (typeof withoutSubgroups !== 'string') plain = withoutSubgroups;
});
afterAll(() => {
  backend?.destroy();
  plain?.destroy();
});

function expectClose(actual: Float32Array, expected: { result: Float64Array; magnitude: Float64Array }, what: string) {
  expect(actual.length, what).toBe(expected.result.length);
  for (let index = 0; index < actual.length; index++) {
    const error = Math.abs(actual[index]! - expected.result[index]!);
    if (!(error <= 2e-5 * expected.magnitude[index]! + 1e-6)) {
      expect.fail(`${what}: element ${index} is ${actual[index]}, expected ${expected.result[index]}`);
    }
  }
}

describe('WebGPU matmul, every weight type', () => {
  for (const type of WEIGHT_TYPES) {
    it(`${type}: mat-vec (1 and 3 rows, chunks; 1 row without subgroups), tiled (70 rows), bias`, async (context) => {
      if (backend === undefined || plain === undefined) return context.skip('Dawn found no WebGPU adapter');
      const { bytes, columns } = await quantBaseRows(type, OUT);
      const values = dequantize(type, bytes, OUT * columns);
      const biasValues = randomValues(OUT, 7);
      for (const gpu of [backend, plain]) {
        const weight = await gpu.uploadWeight({ name: 'w', type, shape: [OUT, columns] }, bytes);
        const bias = await gpu.uploadWeight(
          { name: 'b', type: 'F32', shape: [OUT] },
          new Uint8Array(biasValues.buffer),
        );
        for (const rows of gpu === backend ? [1, 3, 70] : [1]) {
          const input = randomValues(rows * columns, rows);
          const x = gpu.upload(input, [rows, columns]);
          const withBias = rows !== 1;
          const y = gpu.matmul(x, weight, withBias ? bias : undefined);
          expect(y.shape).toEqual([rows, OUT]);
          const actual = (await gpu.read(y)) as Float32Array;
          const what = `${type} rows=${rows}${gpu === plain ? ' (no subgroups)' : ''}`;
          expectClose(
            actual,
            floatProductReference(input, values, rows, OUT, columns, withBias ? biasValues : undefined),
            what,
          );
          gpu.dispose(x);
          gpu.dispose(y);
        }
        gpu.dispose(weight);
        gpu.dispose(bias);
      }
    });
  }

  it('batched decode rows (12: 2 row groups of 6; 30: 4 of 8, the last padded; bias) for Q4_K, Q8_0 and F16', async (context) => {
    if (backend === undefined) return context.skip('Dawn found no WebGPU adapter');
    const biasValues = randomValues(OUT, 9);
    const bias = await backend.uploadWeight(
      { name: 'b', type: 'F32', shape: [OUT] },
      new Uint8Array(biasValues.buffer),
    );
    for (const type of ['Q4_K', 'Q8_0', 'F16'] as const) {
      const { bytes, columns } = await quantBaseRows(type, OUT);
      const values = dequantize(type, bytes, OUT * columns);
      const weight = await backend.uploadWeight({ name: 'w', type, shape: [OUT, columns] }, bytes);
      for (const rows of [12, 30]) {
        const input = randomValues(rows * columns, rows + 20);
        const x = backend.upload(input, [rows, columns]);
        const withBias = rows === 30;
        const y = backend.matmul(x, weight, withBias ? bias : undefined);
        expectClose(
          (await backend.read(y)) as Float32Array,
          floatProductReference(input, values, rows, OUT, columns, withBias ? biasValues : undefined),
          `${type} rows=${rows}`,
        );
        backend.dispose(x);
        backend.dispose(y);
      }
      backend.dispose(weight);
    }
    backend.dispose(bias);
  });

  for (const type of ['F32', 'F16', 'BF16'] as const) {
    it(`${type} with an odd number of columns (unaligned rows)`, async (context) => {
      if (backend === undefined) return context.skip('Dawn found no WebGPU adapter');
      const columns = 37;
      const out = 11;
      const source = randomValues(out * columns, 3);
      let bytes: Uint8Array;
      if (type === 'F32') bytes = new Uint8Array(source.buffer);
      else {
        const halves = Uint16Array.from(source, (value) =>
          type === 'F16' ? floatToHalf(value) : floatToBfloat16(value),
        );
        bytes = new Uint8Array(halves.buffer);
      }
      const values = dequantize(type, bytes, out * columns);
      const weight = await backend.uploadWeight({ name: 'w', type, shape: [out, columns] }, bytes);
      for (const rows of [2, 66]) {
        const input = randomValues(rows * columns, rows + 10);
        const x = backend.upload(input, [rows, columns]);
        const y = backend.matmul(x, weight);
        expectClose(
          (await backend.read(y)) as Float32Array,
          floatProductReference(input, values, rows, out, columns),
          `${type} rows=${rows}`,
        );
      }
    });
  }
});

describe('WebGPU matmulExperts', () => {
  for (const type of ['F16', 'Q8_0', 'Q4_0', 'Q4_K', 'Q6_K', 'IQ4_XS'] as const) {
    it(`${type}: shared and per-slot inputs`, async (context) => {
      if (backend === undefined) return context.skip('Dawn found no WebGPU adapter');
      const experts = 3;
      const out = 13;
      const { bytes, columns } = await quantBaseRows(type, experts * out);
      const values = dequantize(type, bytes, experts * out * columns);
      const weight = await backend.uploadWeight({ name: 'experts', type, shape: [experts, out, columns] }, bytes);
      const rows = 2;
      const topK = 2;
      const chosen = new Int32Array([2, 0, 1, 2]);
      const ids = backend.upload(chosen, [rows, topK]);
      for (const inputRows of [rows, rows * topK]) {
        const input = randomValues(inputRows * columns, inputRows);
        const x = backend.upload(input, [inputRows, columns]);
        const y = backend.matmulExperts(x, weight, ids);
        expect(y.shape).toEqual([rows * topK, out]);
        const actual = (await backend.read(y)) as Float32Array;
        for (let slot = 0; slot < rows * topK; slot++) {
          const expert = chosen[slot]!;
          const inputRow = inputRows === rows ? Math.floor(slot / topK) : slot;
          const expected = floatProductReference(
            input.subarray(inputRow * columns, (inputRow + 1) * columns),
            values.subarray(expert * out * columns, (expert + 1) * out * columns),
            1,
            out,
            columns,
          );
          expectClose(
            actual.subarray(slot * out, (slot + 1) * out),
            expected,
            `${type} slot ${slot} (input rows ${inputRows})`,
          );
        }
      }
    });
  }
});
