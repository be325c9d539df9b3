import { expect } from 'vitest';
import { quantizeActivations } from '../activation-quantization.js';

// The int8 contract of the batched decode products (`int8-batch-matvec.ts`, `int8-batch-gemm.ts`) computed on the CPU
// in float64 from the CPU reference quantization (`quantizeActivations`, bit for bit the device's). Tests only.

/** The ε of the RMS norms the tests fuse. */
export const EPSILON = 1e-5;

/**
 * The int8 contract of `rows` of `input` (times `gain` and scaled by each row's norm inverse when given) with the
 * dequantized `weights` `[out, columns]`, in float64: `Σ_c w[o][c] · d_x(block of c) · q_x(c)` (+ bias), and the sum
 * of the terms' magnitudes.
 */
export function int8Contract(
  input: Float32Array,
  rows: number,
  columns: number,
  weights: Float32Array,
  out: number,
  options: { bias?: Float32Array; gain?: Float32Array } = {},
): { result: Float64Array; magnitude: Float64Array } {
  const { gain, bias } = options;
  const scaled = gain === undefined ? input : input.map((value, index) => Math.fround(value * gain[index % columns]!));
  const { quants, scales } = quantizeActivations(scaled, rows, columns);
  const result = new Float64Array(rows * out);
  const magnitude = new Float64Array(rows * out);
  for (let row = 0; row < rows; row++) {
    let inverse = 1;
    if (gain !== undefined) {
      let squares = 0;
      for (let column = 0; column < columns; column++) squares += input[row * columns + column]! ** 2;
      inverse = 1 / Math.sqrt(squares / columns + EPSILON);
    }
    for (let o = 0; o < out; o++) {
      let sum = 0;
      let size = 0;
      for (let column = 0; column < columns; column++) {
        const term =
          weights[o * columns + column]! *
          scales[row * (columns / 32) + Math.floor(column / 32)]! *
          quants[row * columns + column]!;
        sum += term;
        size += Math.abs(term);
      }
      result[row * out + o] = sum * inverse + (bias?.[o] ?? 0);
      magnitude[row * out + o] = size * inverse + Math.abs(bias?.[o] ?? 0);
    }
  }
  return { result, magnitude };
}

/** Each element within 1e-5 of its terms' magnitude (+ 1e-6) of the contract's value. */
export function expectClose(
  actual: Float32Array,
  expected: ArrayLike<number>,
  magnitude: ArrayLike<number>,
  what: string,
) {
  expect(actual.length, what).toBe(expected.length);
  for (let index = 0; index < expected.length; index++) {
    const error = Math.abs(actual[index]! - expected[index]!);
    if (!(error <= 1e-5 * magnitude[index]! + 1e-6)) {
      expect.fail(`${what}: element ${index} is ${actual[index]}, the int8 contract gives ${expected[index]}`);
    }
  }
}

/** Columns `[from, to)` of a `[rows, width]` array. */
export function columnsOf(values: ArrayLike<number>, rows: number, width: number, from: number, to: number): number[] {
  const result: number[] = [];
  for (let row = 0; row < rows; row++) for (let o = from; o < to; o++) result.push(values[row * width + o]!);
  return result;
}

/**
 * `silu(gate) · up` of a gate·up contract over `[rows, 2 · out]` (gate rows first), with the product of the two
 * magnitudes as each element's magnitude.
 */
export function siluGateUp(
  gated: { result: Float64Array; magnitude: Float64Array },
  rows: number,
  out: number,
): { expected: number[]; magnitude: number[] } {
  const silu = (x: number) => x / (1 + Math.exp(-x));
  const expected: number[] = [];
  const magnitude: number[] = [];
  for (let row = 0; row < rows; row++) {
    for (let o = 0; o < out; o++) {
      const gate = gated.result[row * 2 * out + o]!;
      const up = gated.result[row * 2 * out + out + o]!;
      expected.push(silu(gate) * up);
      magnitude.push(gated.magnitude[row * 2 * out + o]! * gated.magnitude[row * 2 * out + out + o]!);
    }
  }
  return { expected, magnitude };
}
