import { type ActivationKind, StrataError, type Tensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, Uniforms, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { activationFunction, WGSL_MATH } from '../wgsl/math.js';

const WORKGROUP = 256;

/** Element-wise maps of one input. */
export type UnaryOperation =
  | { kind: 'scale'; factor: number }
  | { kind: 'softcap'; cap: number }
  | { kind: 'activation'; activation: ActivationKind };

/** Element-wise maps of two inputs; `b` may be one row broadcast over `a` (add/mul only). */
export type BinaryOperation = { kind: 'add' } | { kind: 'mul' } | { kind: 'gated'; activation: ActivationKind };

function unaryExpression(operation: UnaryOperation): string {
  switch (operation.kind) {
    case 'scale':
      return 'x * params.factor';
    case 'softcap':
      return 'params.factor * safe_tanh(x / params.factor)';
    case 'activation':
      return `${activationFunction(operation.activation)}(x)`;
  }
}

/**
 * WGSL of a kernel with one invocation per element: `declarations` (its `Params` with `count` first, and bindings),
 * the math helpers, and `body` run for each `index < params.count`. Dispatch it over `linearGrid(⌈count / 256⌉)`.
 */
export function elementwiseKernelWgsl(declarations: string, body: string): string {
  return /* wgsl */ `
${declarations}
${WGSL_MATH}
${WGSL_LINEAR_GROUP}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
  let index = linear_group(group, groups) * ${WORKGROUP}u + li;
  if (index >= params.count) { return; }
${body}
}`;
}

/** Invocations per workgroup of {@link elementwiseKernelWgsl}. */
export const ELEMENTWISE_WORKGROUP = WORKGROUP;

/** The gated product `activation(x) · y` as a WGSL expression of `x` (gate) and `y` (up). */
export function gatedExpression(activation: ActivationKind): string {
  return `${activationFunction(activation)}(x) * y`;
}

function binaryExpression(operation: BinaryOperation): string {
  switch (operation.kind) {
    case 'add':
      return 'x + y';
    case 'mul':
      return 'x * y';
    case 'gated':
      return gatedExpression(operation.activation);
  }
}

function unaryKey(operation: UnaryOperation): string {
  return operation.kind === 'activation' ? `activation-${operation.activation}` : operation.kind;
}

/** `f(input)` element-wise. */
export function unary(runtime: GpuRuntime, input: Tensor, operation: UnaryOperation): GpuTensor {
  const source = runtime.tensor(input, 'f32', 'input');
  const output = runtime.allocate('f32', source.shape);
  const key = `unary:${unaryKey(operation)}`;
  const factor = operation.kind === 'scale' ? operation.factor : operation.kind === 'softcap' ? operation.cap : 0;
  runtime.dispatch({
    shader: {
      key,
      storage: ['read', 'write'],
      code: () =>
        elementwiseKernelWgsl(
          `struct Params { count: u32, factor: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> source: array<f32>;
@group(0) @binding(2) var<storage, read_write> destination: array<f32>;`,
          `  let x = source[index];
  destination[index] = ${unaryExpression(operation)};`,
        ),
    },
    uniforms: new Uniforms().u(source.size).f(factor).words,
    buffers: [{ tracked: source.tracked }, { tracked: output.tracked }],
    workgroups: linearGrid(Math.ceil(source.size / WORKGROUP)),
  });
  return output;
}

/** `f(a, b)` element-wise; for add/mul `b` may be a single row `[columns]`/`[1, columns]` broadcast over `a`'s rows. */
export function binary(runtime: GpuRuntime, a: Tensor, b: Tensor, operation: BinaryOperation): GpuTensor {
  const left = runtime.tensor(a, 'f32', 'first input');
  const right = runtime.tensor(b, 'f32', 'second input');
  const columns = left.shape[left.shape.length - 1] ?? 1;
  const sameShape =
    left.shape.length === right.shape.length && left.shape.every((size, index) => size === right.shape[index]);
  const isRow =
    operation.kind !== 'gated' &&
    right.size === columns &&
    (right.shape.length === 1 || (right.shape.length === 2 && right.shape[0] === 1));
  if (!sameShape && !isRow) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `Element-wise ${operation.kind}: shapes [${left.shape.join(', ')}] and [${right.shape.join(', ')}] differ${operation.kind === 'gated' ? '' : ' and the second is not one row of the first'}.`,
    );
  }
  const broadcast = !sameShape;
  const output = runtime.allocate('f32', left.shape);
  const key = `binary:${operation.kind === 'gated' ? `gated-${operation.activation}` : operation.kind}`;
  runtime.dispatch({
    shader: {
      key,
      storage: ['read', 'read', 'write'],
      code: () =>
        elementwiseKernelWgsl(
          `struct Params { count: u32, columns: u32, broadcast: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> left: array<f32>;
@group(0) @binding(2) var<storage, read> right: array<f32>;
@group(0) @binding(3) var<storage, read_write> destination: array<f32>;`,
          `  let x = left[index];
  let y = right[select(index, index % params.columns, params.broadcast != 0u)];
  destination[index] = ${binaryExpression(operation)};`,
        ),
    },
    uniforms: new Uniforms()
      .u(left.size)
      .u(columns)
      .u(broadcast ? 1 : 0).words,
    buffers: [{ tracked: left.tracked }, { tracked: right.tracked }, { tracked: output.tracked }],
    workgroups: linearGrid(Math.ceil(left.size / WORKGROUP)),
  });
  return output;
}
