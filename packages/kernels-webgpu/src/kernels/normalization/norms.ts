import { StrataError, type Tensor, type WeightTensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import type { BufferBinding } from '../../runtime/recorder.js';
import { linearGrid, type StorageAccess, Uniforms, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import type { GpuWeight } from '../../weights/gpu-weight.js';
import { workgroupReduction } from '../wgsl/reduce.js';

/** Workgroup size for a row reduction over `columns` values. */
export function rowWorkgroupSize(columns: number): number {
  return columns >= 1024 ? 256 : 64;
}

/** Rows and columns of a tensor seen as `[rows, last dimension]`. */
export function rowsAndColumns(tensor: GpuTensor): { rows: number; columns: number } {
  const columns = tensor.shape[tensor.shape.length - 1] ?? 1;
  return { rows: columns === 0 ? 0 : tensor.size / columns, columns };
}

/** A kernel of one workgroup per row, reducing across the row: what {@link dispatchRowReduction} needs from it. */
export interface RowReduction {
  /** Start of the pipeline cache key; the workgroup size and subgroup use are appended. */
  readonly key: string;
  /** Access of each storage binding, from binding 1 on. */
  readonly storage: readonly StorageAccess[];
  /** WGSL declarations: `struct Params` (starting with `rows: u32, columns: u32`) and the bindings. */
  readonly declarations: string;
  /**
   * WGSL run by every invocation for its row, given the workgroup size and the reduction's argument list: it sees
   * `row`, `base` (the row's first element) and `li` (the invocation's index) and the `reduce_*` functions.
   */
  readonly body: (size: number, args: string) => string;
  /** Words of the `Params` uniform struct. */
  readonly uniforms: Uint32Array;
  /** Storage buffers in the order of `storage`. */
  readonly buffers: readonly BufferBinding[];
}

/**
 * Dispatches `kernel` over `rows` rows of `columns` values, one workgroup per row (sized by {@link rowWorkgroupSize}),
 * with the workgroup reductions of `workgroupReduction` (subgroup ones where the device has them).
 */
export function dispatchRowReduction(runtime: GpuRuntime, rows: number, columns: number, kernel: RowReduction): void {
  const size = rowWorkgroupSize(columns);
  const subgroups = runtime.features.subgroups;
  const reduction = workgroupReduction(subgroups, size);
  runtime.dispatch({
    shader: {
      key: `${kernel.key}:wg=${size}:sg=${subgroups ? 1 : 0}`,
      storage: kernel.storage,
      code: () => /* wgsl */ `${reduction.enable}
${kernel.declarations}
${reduction.functions}
${WGSL_LINEAR_GROUP}
@compute @workgroup_size(${size})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32${reduction.builtins}) {
  let row = linear_group(group, groups);
  if (row >= params.rows) { return; }
  let base = row * params.columns;
  ${kernel.body(size, reduction.args)}
}`,
    },
    uniforms: kernel.uniforms,
    buffers: kernel.buffers,
    workgroups: linearGrid(rows),
  });
}

function vectorWeight(
  runtime: GpuRuntime,
  value: WeightTensor | undefined,
  columns: number,
  what: string,
): GpuWeight | undefined {
  if (value === undefined) return undefined;
  const weight = runtime.weight(value, what);
  if (weight.storedType !== 'F32' || weight.shape.length !== 1 || weight.shape[0] !== columns) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `The ${what} ${weight.name} must be a float vector [${columns}], got ${weight.type} [${weight.shape.join(', ')}].`,
    );
  }
  return weight;
}

type NormKind = 'rms' | 'layer';

function norm(
  runtime: GpuRuntime,
  kind: NormKind,
  input: Tensor,
  weightValue: WeightTensor | undefined,
  biasValue: WeightTensor | undefined,
  epsilon: number,
): GpuTensor {
  const source = runtime.tensor(input, 'f32', 'input');
  const { rows, columns } = rowsAndColumns(source);
  const weight = vectorWeight(runtime, weightValue, columns, 'norm weight');
  const bias = vectorWeight(runtime, biasValue, columns, 'norm bias');
  const output = runtime.allocate('f32', source.shape);
  if (rows === 0) return output;
  const hasWeight = weight !== undefined;
  const hasBias = bias !== undefined;
  const statistics = (size: number, args: string) =>
    kind === 'rms'
      ? `var squares = 0.0;
  for (var column = li; column < params.columns; column += ${size}u) { let x = source[base + column]; squares += x * x; }
  let mean = 0.0;
  let inverse = 1.0 / sqrt(reduce_sum(squares, ${args}) / f32(params.columns) + params.epsilon);`
      : `var total = 0.0;
  for (var column = li; column < params.columns; column += ${size}u) { total += source[base + column]; }
  let mean = reduce_sum(total, ${args}) / f32(params.columns);
  var deviations = 0.0;
  for (var column = li; column < params.columns; column += ${size}u) { let d = source[base + column] - mean; deviations += d * d; }
  let inverse = 1.0 / sqrt(reduce_sum(deviations, ${args}) / f32(params.columns) + params.epsilon);`;
  dispatchRowReduction(runtime, rows, columns, {
    key: `norm:${kind}:w=${hasWeight ? 1 : 0}:b=${hasBias ? 1 : 0}`,
    storage: ['read', 'read', 'read', 'write'],
    declarations: /* wgsl */ `struct Params { rows: u32, columns: u32, epsilon: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> source: array<f32>;
@group(0) @binding(2) var<storage, read> weight: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> destination: array<f32>;`,
    body: (size, args) => /* wgsl */ `${statistics(size, args)}
  for (var column = li; column < params.columns; column += ${size}u) {
    var value = (source[base + column] - mean) * inverse;
    ${hasWeight ? 'value *= weight[column];' : ''}
    ${hasBias ? 'value += bias[column];' : ''}
    destination[base + column] = value;
  }`,
    uniforms: new Uniforms().u(rows).u(columns).f(epsilon).words,
    buffers: [
      { tracked: source.tracked },
      { tracked: weight?.chunks[0]?.tracked ?? runtime.emptyBuffer },
      { tracked: bias?.chunks[0]?.tracked ?? runtime.emptyBuffer },
      { tracked: output.tracked },
    ],
  });
  return output;
}

/** RMSNorm over the last dimension: x / √(mean(x²) + ε) · weight. */
export function rmsNorm(
  runtime: GpuRuntime,
  input: Tensor,
  weight: WeightTensor | undefined,
  epsilon: number,
): GpuTensor {
  return norm(runtime, 'rms', input, weight, undefined, epsilon);
}

/** LayerNorm over the last dimension with optional weight and bias. */
export function layerNorm(
  runtime: GpuRuntime,
  input: Tensor,
  weight: WeightTensor | undefined,
  bias: WeightTensor | undefined,
  epsilon: number,
): GpuTensor {
  return norm(runtime, 'layer', input, weight, bias, epsilon);
}
