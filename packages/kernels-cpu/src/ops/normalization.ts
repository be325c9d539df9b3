import type { Tensor, WeightTensor } from '@strata/core';
import { floatData, fromData, matrixShape, vectorData } from '../cpu-tensor.js';

/** RMSNorm over the last dimension: x / √(mean(x²) + ε) · weight. */
export function rmsNorm(input: Tensor, weight: WeightTensor | undefined, epsilon: number): Tensor {
  const data = floatData(input, 'rmsNorm');
  const { rows, columns } = matrixShape(input.shape);
  const gains = weight === undefined ? undefined : vectorData(weight, columns, 'rmsNorm weight');
  const output = new Float32Array(data.length);
  for (let row = 0; row < rows; row++) {
    const base = row * columns;
    let squares = 0;
    for (let column = 0; column < columns; column++) squares += data[base + column]! * data[base + column]!;
    const inverse = 1 / Math.sqrt(squares / columns + epsilon);
    for (let column = 0; column < columns; column++) {
      output[base + column] = data[base + column]! * inverse * (gains === undefined ? 1 : gains[column]!);
    }
  }
  return fromData(output, input.shape);
}

/** LayerNorm over the last dimension: (x − mean) / √(variance + ε) · weight + bias (population variance). */
export function layerNorm(
  input: Tensor,
  weight: WeightTensor | undefined,
  bias: WeightTensor | undefined,
  epsilon: number,
): Tensor {
  const data = floatData(input, 'layerNorm');
  const { rows, columns } = matrixShape(input.shape);
  const gains = weight === undefined ? undefined : vectorData(weight, columns, 'layerNorm weight');
  const offsets = bias === undefined ? undefined : vectorData(bias, columns, 'layerNorm bias');
  const output = new Float32Array(data.length);
  for (let row = 0; row < rows; row++) {
    const base = row * columns;
    let sum = 0;
    for (let column = 0; column < columns; column++) sum += data[base + column]!;
    const mean = sum / columns;
    let squares = 0;
    for (let column = 0; column < columns; column++) squares += (data[base + column]! - mean) ** 2;
    const inverse = 1 / Math.sqrt(squares / columns + epsilon);
    for (let column = 0; column < columns; column++) {
      const normalised = (data[base + column]! - mean) * inverse;
      output[base + column] =
        normalised * (gains === undefined ? 1 : gains[column]!) + (offsets === undefined ? 0 : offsets[column]!);
    }
  }
  return fromData(output, input.shape);
}

/** Numerically stable softmax of `length` values from `offset`, written to `output` at the same offset. */
export function softmaxRow(
  input: ArrayLike<number>,
  offset: number,
  length: number,
  output: Float32Array | Float64Array,
): void {
  let maximum = Number.NEGATIVE_INFINITY;
  for (let index = 0; index < length; index++) maximum = Math.max(maximum, input[offset + index]!);
  let sum = 0;
  for (let index = 0; index < length; index++) sum += Math.exp(input[offset + index]! - maximum);
  for (let index = 0; index < length; index++)
    output[offset + index] = Math.exp(input[offset + index]! - maximum) / sum;
}

/** Softmax over the last dimension. */
export function softmax(input: Tensor): Tensor {
  const data = floatData(input, 'softmax');
  const { rows, columns } = matrixShape(input.shape);
  const output = new Float32Array(data.length);
  for (let row = 0; row < rows; row++) softmaxRow(data, row * columns, columns, output);
  return fromData(output, input.shape);
}
