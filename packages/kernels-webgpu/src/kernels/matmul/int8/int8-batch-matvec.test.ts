import type { Tensor } from '@strata/core';
import { dequantize } from '@strata/kernels-cpu';
import { describe, expect, it, vi } from 'vitest';
import { useBackendForTests } from '../../../testing/backend-for-tests.js';
import type { WebGpuBackend } from '../../../webgpu-backend.js';
import { quantBaseRows, randomValues } from '../testing/weight-fixtures.js';
import { quantizeRowsOnDevice } from './row-quantization.js';
import { columnsOf, EPSILON, expectClose, int8Contract as contract, siluGateUp } from './testing/int8-contract.js';

// The batched decode products on 8-bit inputs (`tuning.int8BatchRows`) against the int8 contract computed on the CPU
// in float64 from the CPU reference quantization (`quantizeActivations`, bit for bit the device's) and the CPU's
// dequantized weights: for Q4_K the plain product with a bias, the fused norm with a 3-part split store, the gate·up
// store and the residual add, and the same for Q8_0; for Q6_K the plain product (the stores are the same text for
// every type). 11 rows run as 2 row groups of 6 (the last padded); 3 rows as one group without subgroups. Real rows
// of the quant-base model (512 columns).

const OUT = 12;
const WIDTHS = [6, 4, 2];
async function run(
  gpu: WebGpuBackend,
  type: 'Q4_K' | 'Q6_K' | 'Q8_0',
  rows: number,
  fused: boolean,
  chunks = 1,
): Promise<void> {
  const { bytes, columns } = await quantBaseRows(type, 2 * OUT);
  const dequantized = dequantize(type, bytes, 2 * OUT * columns);
  const firstRows = dequantized.subarray(0, OUT * columns);
  const firstHalf = bytes.subarray(0, bytes.length / 2);
  const vector = (name: string, values: Float32Array) =>
    gpu.uploadWeight({ name, type: 'F32', shape: [values.length] }, new Uint8Array(values.buffer));
  const weight = await gpu.uploadWeight({ name: 'w', type, shape: [OUT, columns] }, firstHalf);
  const gateUp = await gpu.uploadWeight({ name: 'gate_up', type, shape: [2 * OUT, columns] }, bytes);
  const biasValues = randomValues(OUT, 2);
  const gainValues = randomValues(columns, 3);
  const bias = await vector('b', biasValues);
  const gain = await vector('g', gainValues);
  const inputValues = randomValues(rows * columns, 7).map((value, index) => value * (1 + (index % 5)));
  const residualValues = randomValues(rows * OUT, 8);
  const input: Tensor = gpu.upload(inputValues, [rows, columns]);
  const dispatches = vi.spyOn(gpu.runtime, 'dispatch');
  const norm = { weight: gain, epsilon: EPSILON };
  const outputs = [gpu.matmul(input, weight, bias)];
  if (fused) {
    outputs.push(
      ...gpu.rmsNormMatmul(input, norm, [{ weight, widths: WIDTHS }]),
      gpu.rmsNormGatedMatmul(input, norm, gateUp, 'silu'),
      gpu.matmulAdd(input, weight, gpu.upload(residualValues, [rows, OUT])),
    );
  }
  const values: Float32Array[] = [];
  for (const output of outputs) values.push((await gpu.read(output)) as Float32Array);
  const keys = dispatches.mock.calls.map(([command]) => command.shader.key);
  dispatches.mockRestore();
  // One dispatch per product and weight chunk.
  expect(gpu.runtime.weight(weight).chunks).toHaveLength(chunks);
  expect(keys.filter((key) => key.startsWith(`int8-batch-matvec:${type}:`))).toHaveLength(fused ? 4 : chunks);

  const plain = contract(inputValues, rows, columns, firstRows, OUT, { bias: biasValues });
  expectClose(values[0]!, plain.result, plain.magnitude, 'plain product with a bias');
  if (!fused) return;
  const normed = contract(inputValues, rows, columns, firstRows, OUT, { gain: gainValues });
  let from = 0;
  WIDTHS.forEach((width, part) => {
    const expected = columnsOf(normed.result, rows, OUT, from, from + width);
    const magnitude = columnsOf(normed.magnitude, rows, OUT, from, from + width);
    expectClose(values[1 + part]!, expected, magnitude, `normed split part ${part}`);
    from += width;
  });
  const gated = contract(inputValues, rows, columns, dequantized, 2 * OUT, { gain: gainValues });
  const { expected: gatedExpected, magnitude: gatedMagnitude } = siluGateUp(gated, rows, OUT);
  expectClose(values[1 + WIDTHS.length]!, gatedExpected, gatedMagnitude, 'gate·up');
  const added = contract(inputValues, rows, columns, firstRows, OUT);
  expectClose(
    values[2 + WIDTHS.length]!,
    added.result.map((value, index) => value + residualValues[index]!),
    added.magnitude.map((value, index) => value + Math.abs(residualValues[index]!)),
    'residual add',
  );
}

describe('WebGPU batched decode products on 8-bit inputs (tuning.int8BatchRows)', () => {
  const withSubgroups = useBackendForTests({ tuning: { int8BatchRows: 2 } });
  const withoutSubgroups = useBackendForTests({ tuning: { int8BatchRows: 2 }, disableFeatures: ['subgroups'] });
  const oneRow = useBackendForTests({ tuning: { int8BatchRows: 1 } });
  // Q4_K rows of 512 columns are 288 bytes: 8 rows per 2,304-byte chunk, so the 12-row weight takes 2 chunks.
  const chunked = useBackendForTests({ tuning: { int8BatchRows: 2 }, maxChunkBytes: 2304 });

  it('Q4_K, 11 rows in 2 row groups, plain and fused: the int8 contract', async (context) => {
    await run(withSubgroups(context), 'Q4_K', 11, true);
  });

  it('Q6_K, 11 rows in 2 row groups, plain: the int8 contract', async (context) => {
    await run(withSubgroups(context), 'Q6_K', 11, false);
  });

  it('Q8_0, 11 rows in 2 row groups, plain and fused: the int8 contract', async (context) => {
    await run(withSubgroups(context), 'Q8_0', 11, true);
  });

  it('Q4_K, 11 rows over a weight in 2 chunks, plain: the int8 contract', async (context) => {
    await run(chunked(context), 'Q4_K', 11, false, 2);
  });

  it('Q4_K, one row with int8BatchRows 1 (decode products), plain: the int8 contract', async (context) => {
    await run(oneRow(context), 'Q4_K', 1, false);
  });

  it('refuses rows that do not fill blocks of 32, or fewer values than the rows need (SHAPE_MISMATCH)', (context) => {
    const gpu = withSubgroups(context);
    const input = gpu.runtime.tensor(gpu.upload(new Float32Array(60), [2, 30]), 'f32', 'input');
    expect(() => quantizeRowsOnDevice(gpu.runtime, input, 2, 30)).toThrow(
      expect.objectContaining({ code: 'SHAPE_MISMATCH' }),
    );
    expect(() => quantizeRowsOnDevice(gpu.runtime, input, 2, 32)).toThrow(
      expect.objectContaining({ code: 'SHAPE_MISMATCH' }),
    );
  });

  it('Q4_K, 3 rows without subgroups, plain: the int8 contract', async (context) => {
    await run(withoutSubgroups(context), 'Q4_K', 3, false);
  });
});
