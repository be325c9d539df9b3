import type { ActivationKind, Tensor } from '@strata/core';
import { StrataError } from '@strata/core';
import { expectShape, floatData, fromData, matrixShape } from '../cpu-tensor.js';

function sameShape(first: readonly number[], second: readonly number[]): boolean {
  return first.length === second.length && first.every((size, index) => size === second[index]);
}

/** True when `row` is one row `[columns]` or `[1, columns]` matching the last dimension of `shape`. */
function isBroadcastRow(shape: readonly number[], row: readonly number[]): boolean {
  const columns = shape[shape.length - 1];
  return (row.length === 1 && row[0] === columns) || (row.length === 2 && row[0] === 1 && row[1] === columns);
}

/** `combine` element-wise over two f32 tensors of one shape, or over `first`'s rows and the single row `second`. */
function binary(
  first: Tensor,
  second: Tensor,
  operation: string,
  combine: (left: number, right: number) => number,
): Tensor {
  const left = floatData(first, operation);
  const right = floatData(second, operation);
  const output = new Float32Array(left.length);
  if (sameShape(first.shape, second.shape)) {
    for (let index = 0; index < left.length; index++) output[index] = combine(left[index]!, right[index]!);
  } else {
    expectShape(
      isBroadcastRow(first.shape, second.shape),
      `${operation}: shapes [${first.shape.join(', ')}] and [${second.shape.join(', ')}] differ, and the second is not one row of the first.`,
      { a: first.shape, b: second.shape },
    );
    const { rows, columns } = matrixShape(first.shape);
    for (let row = 0; row < rows; row++) {
      const base = row * columns;
      for (let column = 0; column < columns; column++) {
        output[base + column] = combine(left[base + column]!, right[column]!);
      }
    }
  }
  return fromData(output, first.shape);
}

/** `a + b` with row broadcasting. */
export function add(a: Tensor, b: Tensor): Tensor {
  return binary(a, b, 'add', (x, y) => x + y);
}

/** `a · b` with row broadcasting. */
export function mul(a: Tensor, b: Tensor): Tensor {
  return binary(a, b, 'mul', (x, y) => x * y);
}

/** `input · factor`. */
export function scale(input: Tensor, factor: number): Tensor {
  const data = floatData(input, 'scale');
  const output = new Float32Array(data.length);
  for (let index = 0; index < data.length; index++) output[index] = data[index]! * factor;
  return fromData(output, input.shape);
}

/** `cap · tanh(input / cap)`. */
export function softcap(input: Tensor, cap: number): Tensor {
  if (!(cap > 0)) throw new StrataError('INVALID_ARGUMENT', `softcap needs a positive cap, got ${cap}.`);
  const data = floatData(input, 'softcap');
  const output = new Float32Array(data.length);
  for (let index = 0; index < data.length; index++) output[index] = cap * Math.tanh(data[index]! / cap);
  return fromData(output, input.shape);
}

/**
 * The error function, to about 1e-15: its Maclaurin series below 3, the continued fraction of erfc above
 * (JavaScript has no `Math.erf`).
 */
export function erf(x: number): number {
  const magnitude = Math.abs(x);
  if (magnitude < 3) {
    const square = x * x;
    let term = x;
    let sum = x;
    for (let n = 1; n < 100; n++) {
      term *= -square / n;
      const contribution = term / (2 * n + 1);
      sum += contribution;
      if (Math.abs(contribution) < 1e-17 * Math.abs(sum)) break;
    }
    return (2 / Math.sqrt(Math.PI)) * sum;
  }
  if (magnitude > 6) return Math.sign(x);
  // erfc(z) = exp(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))), evaluated from the tail.
  let fraction = magnitude;
  for (let k = 60; k >= 1; k--) fraction = magnitude + k / 2 / fraction;
  const complement = Math.exp(-magnitude * magnitude) / Math.sqrt(Math.PI) / fraction;
  return Math.sign(x) * (1 - complement);
}

const GELU_TANH_SCALE = Math.sqrt(2 / Math.PI);

/** One activation value in f64. */
export function activate(x: number, kind: ActivationKind): number {
  switch (kind) {
    case 'silu':
      return x / (1 + Math.exp(-x));
    case 'gelu-tanh':
      return 0.5 * x * (1 + Math.tanh(GELU_TANH_SCALE * (x + 0.044715 * x * x * x)));
    case 'gelu-erf':
      return 0.5 * x * (1 + erf(x / Math.SQRT2));
    case 'relu':
      return Math.max(x, 0);
    default:
      throw new StrataError(
        'INVALID_ARGUMENT',
        `Unknown activation '${String(kind)}'; use silu, gelu-tanh, gelu-erf or relu.`,
      );
  }
}

/** Applies an activation element-wise. */
export function activation(input: Tensor, kind: ActivationKind): Tensor {
  const data = floatData(input, 'activation');
  activate(0, kind);
  const output = new Float32Array(data.length);
  for (let index = 0; index < data.length; index++) output[index] = activate(data[index]!, kind);
  return fromData(output, input.shape);
}

/** `activation(gate) · up`. */
export function gatedActivation(gate: Tensor, up: Tensor, kind: ActivationKind): Tensor {
  const gates = floatData(gate, 'gatedActivation');
  const ups = floatData(up, 'gatedActivation');
  expectShape(
    sameShape(gate.shape, up.shape),
    `gatedActivation: gate [${gate.shape.join(', ')}] and up [${up.shape.join(', ')}] must have the same shape.`,
  );
  activate(0, kind);
  const output = new Float32Array(gates.length);
  for (let index = 0; index < gates.length; index++) output[index] = activate(gates[index]!, kind) * ups[index]!;
  return fromData(output, gate.shape);
}
