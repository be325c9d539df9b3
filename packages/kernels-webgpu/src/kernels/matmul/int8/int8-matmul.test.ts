import { dequantize, floatToHalf, rowByteLength } from '@strata/kernels-cpu';
import { describe, expect, it } from 'vitest';
import { kernelManifest } from '../../../runtime/kernel-warm-up.js';
import { useBackendForTests } from '../../../testing/backend-for-tests.js';
import { floatProductReference } from '../testing/float-product-reference.js';
import { quantBaseRows, randomValues, seededRandom } from '../testing/weight-fixtures.js';
import { INT8_BLOCK_COLUMNS, quantizeActivations } from './activation-quantization.js';
import { int8GemmReference, int8WeightBlocks } from './int8-gemm-reference.js';
import type { Int8WeightType } from './int8-weight-blocks.js';

// The routed int8 prefill product (tuning.int8Prefill, more than 32 rows; on lavapipe the portable dot4I8Packed
// kernel) against (1) the int8 contract computed in float64 on the CPU from the CPU reference quantization: tight,
// f32 rounding only; (2) the f32 product of the dequantized weights: loose, by the rigorous bound of the activation
// rounding, Σ_k |w_k| · d_a(k) / 2 (each input moves by at most half its block's scale). Weights in 2 KiB chunks,
// 40 input rows (one partial 128-row tile), 37 outputs (partial 64-output tiles).

const ROWS = 40;
const OUT = 37;

/** Random Q8_0 rows of `columns` (3 blocks of 34 bytes: rows start 2 bytes off a word, the last step has one block). */
function randomQ80(rows: number, columns: number): Uint8Array {
  const next = seededRandom(5);
  const bytes = new Uint8Array(rowByteLength('Q8_0', columns) * rows);
  for (let block = 0; block < bytes.length / 34; block++) {
    const half = floatToHalf(0.002 + 0.02 * Math.abs(next()));
    bytes[block * 34] = half & 0xff;
    bytes[block * 34 + 1] = half >> 8;
    for (let index = 2; index < 34; index++) bytes[block * 34 + index] = Math.floor((next() + 1) * 128) & 0xff;
  }
  return bytes;
}

/** The f32 product of the dequantized weights in float64, and the bound of the activations' int8 rounding. */
function floatReference(input: Float32Array, weights: Float32Array, columns: number, bias: Float32Array | undefined) {
  const { scales } = quantizeActivations(input, ROWS, columns);
  const blocks = columns / INT8_BLOCK_COLUMNS;
  const { result, magnitude } = floatProductReference(input, weights, ROWS, OUT, columns, bias);
  const bound = new Float64Array(ROWS * OUT);
  for (let r = 0; r < ROWS; r++) {
    for (let o = 0; o < OUT; o++) {
      let rounding = 0;
      for (let c = 0; c < columns; c++) {
        rounding +=
          (Math.abs(weights[o * columns + c]!) * scales[r * blocks + Math.floor(c / INT8_BLOCK_COLUMNS)]!) / 2;
      }
      bound[r * OUT + o] = rounding + 2e-5 * magnitude[r * OUT + o]! + 1e-6;
    }
  }
  return { result, bound };
}

describe('WebGPU int8 prefill mat-mul (tuning.int8Prefill)', () => {
  const gpu = useBackendForTests({ tuning: { int8Prefill: true }, maxChunkBytes: 2048 });

  const cases: {
    name: string;
    type: Int8WeightType;
    bias: boolean;
    weight: () => Promise<{ bytes: Uint8Array; columns: number }>;
  }[] = [
    { name: 'Q8_0 model rows, 512 columns, bias', type: 'Q8_0', bias: true, weight: () => quantBaseRows('Q8_0', OUT) },
    {
      name: 'Q8_0 random rows, 96 columns (misaligned rows, a half step)',
      type: 'Q8_0',
      bias: true,
      weight: async () => ({ bytes: randomQ80(OUT, 96), columns: 96 }),
    },
    { name: 'Q4_K model rows, 512 columns', type: 'Q4_K', bias: false, weight: () => quantBaseRows('Q4_K', OUT) },
  ];
  for (const { name, type, bias: withBias, weight: load } of cases) {
    it(`${name}: the int8 contract (tight) and the f32 product (within the int8 rounding bound)`, async (context) => {
      const backend = gpu(context);
      const { bytes, columns } = await load();
      const input = randomValues(ROWS * columns, columns + OUT).map((value, index) => value * (1 + (index % 7)));
      const biasValues = withBias ? randomValues(OUT, 3) : undefined;
      const weight = await backend.uploadWeight({ name: `w.${type}`, type, shape: [OUT, columns] }, bytes);
      expect(backend.runtime.weight(weight).chunks.length, 'the weight is split into chunks').toBeGreaterThan(1);
      const bias =
        biasValues === undefined
          ? undefined
          : await backend.uploadWeight({ name: 'b', type: 'F32', shape: [OUT] }, new Uint8Array(biasValues.buffer));
      const x = backend.upload(input, [ROWS, columns]);
      const y = backend.matmul(x, weight, bias);
      const actual = (await backend.read(y)) as Float32Array;
      expect(kernelManifest(backend).some((entry) => entry.key.startsWith(`int8-gemm:${type}:`))).toBe(true);

      const contract = int8GemmReference(
        quantizeActivations(input, ROWS, columns),
        int8WeightBlocks(type, bytes, OUT, columns),
        biasValues,
      );
      const exact = floatReference(input, dequantize(type, bytes, OUT * columns), columns, biasValues);
      let worstRounding = 0;
      for (let index = 0; index < actual.length; index++) {
        const error = Math.abs(actual[index]! - contract.result[index]!);
        if (!(error <= 1e-5 * contract.magnitude[index]! + 1e-6)) {
          expect.fail(
            `${name}: element ${index} is ${actual[index]}, the int8 contract gives ${contract.result[index]}`,
          );
        }
        const rounding = Math.abs(actual[index]! - exact.result[index]!);
        if (!(rounding <= exact.bound[index]!)) {
          expect.fail(
            `${name}: element ${index} is ${actual[index]}, f32 ${exact.result[index]}, bound ${exact.bound[index]}`,
          );
        }
        worstRounding = Math.max(worstRounding, rounding / exact.bound[index]!);
      }
      // The int8 rounding is real (the product is not the f32 one) and well inside its bound.
      expect(worstRounding).toBeGreaterThan(0);
      for (const tensor of [x, y, weight, ...(bias === undefined ? [] : [bias])]) backend.dispose(tensor);
    });
  }
});
