import type { ActivationKind, WeightType } from '@strata/core';
import { rowsWordAligned, weightReaderWgsl, weightShader } from '../../wgsl/dequantize/index.js';
import {
  gatedIndexingWgsl,
  gatedSharedWgsl,
  gatedStoreWgsl,
  normWgsl,
  splitStoreWgsl,
  storeBindingsWgsl,
} from './matvec-stores-wgsl.js';

/**
 * Most input rows one mat-vec workgroup multiplies with each weight row it reads (held in registers). A product of more
 * rows runs as row groups of at most this many (workgroup z), each re-reading the weights (mostly from L2).
 */
export const MAX_MATVEC_ROWS = 8;

/**
 * Most input rows a product runs on the mat-vec kernel (a batched decode step over up to this many sequences, as
 * ⌈rows / 8⌉ row groups); more go to the tiled (or int8) mat-mul.
 */
export const MAX_GROUPED_MATVEC_ROWS = 32;

/**
 * Input rows per row group for a product of `rows` rows (2 … {@link MAX_GROUPED_MATVEC_ROWS}): the fewest groups of at
 * most {@link MAX_MATVEC_ROWS}, evened out (13 rows: 2 groups of 7, one row of padding instead of three).
 */
export function matvecGroupRows(rows: number): number {
  return Math.ceil(rows / Math.ceil(rows / MAX_MATVEC_ROWS));
}

/** Tunables of the mat-vec kernel (defaults: {@link DEFAULT_MATVEC_TUNING}). */
export interface MatvecTuning {
  /** Invocations per workgroup (a power of two, a multiple of `threadsPerRow`). */
  readonly workgroupSize: number;
  /** Invocations that share one output row (a power of two). */
  readonly threadsPerRow: number;
  /** Units each invocation loads before it accumulates (more loads in flight). */
  readonly unroll: number;
}

/** Tuning measured best on an NVIDIA H200 (see BENCHMARKS.md). */
export const DEFAULT_MATVEC_TUNING: MatvecTuning = { workgroupSize: 256, threadsPerRow: 32, unroll: 2 };

/** What a mat-vec kernel is specialised for. */
export interface MatvecVariant {
  /** Weight type as stored on the GPU. */
  readonly type: WeightType;
  /** Columns (decides word alignment of rows and whether input rows are vec4-aligned). */
  readonly columns: number;
  /**
   * Input rows computed per weight row read (1…{@link MAX_MATVEC_ROWS}); 1 for experts. In `matmul` mode a product
   * of more rows runs row groups of this many (workgroup z; the last group clamps its reads to the product's last row
   * and stores only its own rows).
   */
  readonly inputRows: number;
  /** `matmul`: output rows of one chunk; `experts`: slots × output rows, the expert chosen per slot. */
  readonly mode: 'matmul' | 'experts';
  /** Adds `bias` (matmul only). */
  readonly bias: boolean;
  /**
   * `matmul` only, how output rows are stored (default plain):
   * - `residual`: adds `residual` (binding 5, of the output's shape), the residual add of a pre-norm block
   *   (`Backend.matmulAdd` over several rows); the uniforms end with the fused kernels' three words, unused here;
   * - `split2` / `split3`: weight rows below `boundary1` to `output`, then below `boundary2` to `output1` (binding 5),
   *   the rest to `output2` (binding 6), each `[rows, width]` (Q, K and V of one concatenated weight); the uniforms
   *   end with the fused kernels' `epsilon, boundary1, boundary2` (`fusionUniforms`);
   * - `gated`: the weight (one chunk) holds `boundary1` gate rows then as many up rows; each workgroup computes
   *   `rowsPerWorkgroup / 2` gate rows and the up rows of the same indices and stores `activation(gate) · up`,
   *   `[rows, boundary1]` (`rmsNormGatedMatmul` over several rows).
   */
  readonly store?: 'residual' | 'split2' | 'split3' | 'gated';
  /** `gated` only: the activation of the gate rows (default `silu`). */
  readonly activation?: ActivationKind;
  /**
   * `matmul` only: the RMS norm of each input row in the same pass (`rmsNormMatmul` over several rows): the values are
   * multiplied by `norm_gain` (binding 5) as they are loaded, the lanes of the workgroup's first output row add up
   * their squares (they load every column), and each row's total scales its accumulators by `1/√(mean + ε)` before
   * the bias. The uniforms end with `epsilon, boundary1, boundary2` (`fusionUniforms`).
   */
  readonly norm?: boolean;
  /** The device has `subgroups`. */
  readonly subgroups: boolean;
  /** Workgroup size, invocations per output row and unroll baked into the code (part of the cache key). */
  readonly tuning: MatvecTuning;
}

/** Storage bindings (from binding 1): weights, input, bias or expert ids, output. */
export const MATVEC_STORAGE = ['read', 'read', 'read', 'write'] as const;

/** The cache key of a variant: every specialisation baked into the code. */
export function matvecKey(variant: MatvecVariant): string {
  const { type, columns, inputRows, mode, bias, subgroups, tuning } = variant;
  const shape = `${columns % 4 === 0 ? 'v4' : 'ragged'}:${rowsWordAligned(type, columns) ? 'a' : 'u'}`;
  const gatedWith = variant.store === 'gated' ? `-${variant.activation ?? 'silu'}` : '';
  const store = `${variant.store === undefined ? '' : `:${variant.store}${gatedWith}`}${variant.norm === true ? ':norm' : ''}`;
  return `matvec:${mode}:${type}:${shape}:r=${inputRows}:b=${bias ? 1 : 0}${store}:sg=${subgroups ? 1 : 0}:wg=${tuning.workgroupSize}:tpr=${tuning.threadsPerRow}:u=${tuning.unroll}`;
}

/**
 * Uniform words of the mat-vec kernel, in `Params` order:
 * `columns, rowBytes, units, chunkRows, firstRow, outStride, outRows, topK, slots, slotOffset, perSlotInput`.
 */
export interface MatvecParams {
  /** Elements per weight row and per input row (the reduced dimension). */
  readonly columns: number;
  /** Bytes per weight row in the stored type (`GpuWeight.rowBytes`; need not be a multiple of 4). */
  readonly rowBytes: number;
  /** Units per weight row. */
  readonly units: number;
  /** Weight rows in the bound chunk. */
  readonly chunkRows: number;
  /** Weight row (over all chunks) of the chunk's first row. */
  readonly firstRow: number;
  /** Output row stride in elements. */
  readonly outStride: number;
  /** Experts: output rows per expert. */
  readonly outRows: number;
  /** Experts: slots per input row. */
  readonly topK: number;
  /** Experts: slots in this dispatch; `matmul`: input rows of the product (all row groups). */
  readonly slots: number;
  /** Experts: first slot of this dispatch. */
  readonly slotOffset: number;
  /** Experts: 1 when the input has one row per slot. */
  readonly perSlotInput: number;
}

/** The words of {@link MatvecParams}. */
export function matvecUniforms(params: MatvecParams): Uint32Array {
  return new Uint32Array([
    params.columns,
    params.rowBytes,
    params.units,
    params.chunkRows,
    params.firstRow,
    params.outStride,
    params.outRows,
    params.topK,
    params.slots,
    params.slotOffset,
    params.perSlotInput,
  ]);
}

/** Output rows one workgroup computes. */
export function matvecRowsPerWorkgroup(tuning: MatvecTuning): number {
  return tuning.workgroupSize / tuning.threadsPerRow;
}

/**
 * WGSL of the bandwidth-bound mat-vec: each weight row is read once, by `threadsPerRow` invocations walking its units
 * (consecutive invocations on consecutive units, so loads coalesce), and multiplied with up to 8 input rows kept in
 * registers; the partial sums meet in a subgroup reduction (shuffles or `subgroupAdd`, shared memory across subgroups)
 * or, without subgroups, a shared-memory tree.
 *
 * Grid: `matmul` — `ceil(chunkRows / rowsPerWorkgroup)` groups (linear over x, y), z over the row groups of
 * `inputRows` input rows (`params.slots` rows in all); `experts` — x over `ceil(outRows / rowsPerWorkgroup)`, y over
 * slots.
 */
export function matvecWgsl(variant: MatvecVariant): string {
  const { type, columns, inputRows, mode, bias, subgroups, tuning } = variant;
  const shader = weightShader(type);
  const { workgroupSize, threadsPerRow, unroll } = tuning;
  const rowsPerGroup = workgroupSize / threadsPerRow;
  const vector = columns % 4 === 0;
  const rows = Array.from({ length: inputRows }, (_, index) => index);
  const groups = Array.from({ length: shader.groups }, (_, index) => index);
  const norm = variant.norm === true && mode === 'matmul';

  const inputDeclaration = vector
    ? 'var<storage, read> input: array<vec4<f32>>;'
    : 'var<storage, read> input: array<f32>;';
  // x4(element, column): 4 input values from element index `element` (column `column` of its row).
  const inputRead = vector
    ? 'fn x4(element: u32, column: u32) -> vec4<f32> { return input[element >> 2u]; }'
    : `fn x4(element: u32, column: u32) -> vec4<f32> {
  var values = vec4<f32>(0.0);
  for (var i = 0u; i < 4u; i++) { if (column + i < params.columns) { values[i] = input[element + i]; } }
  return values;
}`;
  // g4(column): 4 values of the norm gain from column `column` (0 past the row).
  const gainRead = !norm
    ? ''
    : vector
      ? 'fn g4(column: u32) -> vec4<f32> { return norm_gain[column >> 2u]; }'
      : `fn g4(column: u32) -> vec4<f32> {
  var values = vec4<f32>(0.0);
  for (var i = 0u; i < 4u; i++) { if (column + i < params.columns) { values[i] = norm_gain[column + i]; } }
  return values;
}`;
  const guard = vector
    ? ''
    : 'w = select(vec4<f32>(0.0), w, (vec4<u32>(column) + vec4<u32>(0u, 1u, 2u, 3u)) < vec4<u32>(params.columns));';

  const accumulate = (unit: string, values: string) =>
    groups
      .map(
        (group) => `{
        let column = unit_column(${unit}, ${group}u);
        var w = ${values}[${group}];
        ${guard}
${
  norm
    ? `        let gain = g4(column);
${rows
  .map(
    (row) =>
      `        let loaded${row} = x4(inputBase${row} + column, column);
        acc${row} += dot(w, loaded${row} * gain);
        if (counts) { squares${row} += dot(loaded${row}, loaded${row}); }`,
  )
  .join('\n')}`
    : rows.map((row) => `        acc${row} += dot(w, x4(inputBase${row} + column, column));`).join('\n')
}
      }`,
      )
      .join('\n');

  const unrolled = Array.from({ length: unroll }, (_, index) => index);
  const loop = `
    var unit = lane;
    loop {
      if (unit + ${(unroll - 1) * threadsPerRow}u >= params.units) { break; }
${unrolled.map((index) => `      let values${index} = unit_load(rowByte, unit + ${index * threadsPerRow}u);`).join('\n')}
${unrolled.map((index) => `      {\n      let u = unit + ${index * threadsPerRow}u;\n${accumulate('u', `values${index}`)}\n      }`).join('\n')}
      unit += ${unroll * threadsPerRow}u;
    }
    for (; unit < params.units; unit += ${threadsPerRow}u) {
      let values = unit_load(rowByte, unit);
${accumulate('unit', 'values')}
    }`;

  // Reduction over the `threadsPerRow` invocations of one output row; the row's lane 0 ends with the total.
  const reduction = subgroups
    ? `
  let subgroupsPerRow = max(1u, ${threadsPerRow}u / ss);
${rows
  .map(
    (row) => `  if (ss > ${threadsPerRow}u) {
    for (var offset = ${threadsPerRow / 2}u; offset > 0u; offset >>= 1u) { acc${row} += subgroupShuffleXor(acc${row}, offset); }
  } else {
    acc${row} = subgroupAdd(acc${row});
  }
  if (ss < ${threadsPerRow}u && sl == 0u) { scratch[${row}u * ${workgroupSize}u + li / ss] = acc${row}; }`,
  )
  .join('\n')}
  workgroupBarrier();
  if (ss < ${threadsPerRow}u && lane == 0u) {
    let first = li / ss;
${rows.map((row) => `    acc${row} = 0.0;\n    for (var k = 0u; k < subgroupsPerRow; k++) { acc${row} += scratch[${row}u * ${workgroupSize}u + first + k]; }`).join('\n')}
  }`
    : `
${rows.map((row) => `  scratch[${row}u * ${workgroupSize}u + li] = acc${row};`).join('\n')}
  workgroupBarrier();
  for (var stride = ${threadsPerRow / 2}u; stride > 0u; stride >>= 1u) {
    if (lane < stride) {
${rows.map((row) => `      scratch[${row}u * ${workgroupSize}u + li] += scratch[${row}u * ${workgroupSize}u + li + stride];`).join('\n')}
    }
    workgroupBarrier();
  }
${rows.map((row) => `  acc${row} = scratch[${row}u * ${workgroupSize}u + li];`).join('\n')}`;

  const experts = mode === 'experts';
  const storeMode = experts ? undefined : variant.store;
  const residualAdd = storeMode === 'residual' ? ' + residual[index]' : '';
  const splits = storeMode === 'split2' || storeMode === 'split3';
  const gated = storeMode === 'gated';
  const storeShape = { store: storeMode, inputRows, bias, rowsPerGroup };
  const indexing = experts
    ? `
  let slot = group.y + params.slotOffset;
  let o = group.x * ${rowsPerGroup}u + li / ${threadsPerRow}u;
  let expert = u32(max(extra[slot], 0));
  let weightRow = expert * params.outRows + o;
  let valid = slot < params.slots + params.slotOffset && o < params.outRows && weightRow >= params.firstRow && weightRow < params.firstRow + params.chunkRows;
  let localRow = select(0u, weightRow - params.firstRow, valid);
  let inputRow = select(slot / params.topK, slot, params.perSlotInput == 1u);
  let inputBase0 = inputRow * params.columns;`
    : `
${
  gated
    ? gatedIndexingWgsl(rowsPerGroup, threadsPerRow)
    : `  let o = linear_group(group, groups) * ${rowsPerGroup}u + li / ${threadsPerRow}u;
  let valid = o < params.chunkRows;`
}
  let localRow = select(0u, o, valid);
  // Row group z: input rows z·${inputRows} … (the last group reads its missing rows as the product's last row).
  let firstInput = group.z * ${inputRows}u;
${rows.map((row) => `  let inputBase${row} = min(firstInput + ${row}u, params.slots - 1u) * params.columns;`).join('\n')}`;
  const store = experts
    ? `    output[slot * params.outStride + o] = acc0;`
    : rows
        .map((row) =>
          splits
            ? splitStoreWgsl(storeShape, row)
            : `    if (firstInput + ${row}u < params.slots) {
      let index = (firstInput + ${row}u) * params.outStride + params.firstRow + o;
      output[index] = acc${row}${bias ? ' + extra[params.firstRow + o]' : ''}${residualAdd};
    }`,
        )
        .join('\n');

  return /* wgsl */ `${subgroups ? 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);' : ''}
struct Params {
  columns: u32, rowBytes: u32, units: u32, chunkRows: u32, firstRow: u32, outStride: u32,
  outRows: u32, topK: u32, slots: u32, slotOffset: u32, perSlotInput: u32,${splits || norm || gated || storeMode === 'residual' ? '\n  epsilon: f32, boundary1: u32, boundary2: u32,' : ''}
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> weights: array<u32>;
@group(0) @binding(2) ${inputDeclaration}
@group(0) @binding(3) var<storage, read> extra: array<${experts ? 'i32' : 'f32'}>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;
${storeBindingsWgsl(storeMode, norm, vector)}${gated ? gatedSharedWgsl(storeShape) : ''}
var<workgroup> scratch: array<f32, ${inputRows * workgroupSize}>;${
    norm
      ? `\nvar<workgroup> norm_squares: array<f32, ${inputRows * threadsPerRow}>;\nvar<workgroup> norm_inverse: array<f32, ${inputRows}>;`
      : ''
  }
${weightReaderWgsl(type, columns)}
${inputRead}
${gainRead}
fn linear_group(group: vec3u, groups: vec3u) -> u32 { return group.x + group.y * groups.x; }

@compute @workgroup_size(${workgroupSize})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32${
    subgroups ? ', @builtin(subgroup_invocation_id) sl: u32, @builtin(subgroup_size) ss: u32' : ''
  }) {
  let lane = li % ${threadsPerRow}u;
${indexing}
  let rowByte = localRow * params.rowBytes;
${rows.map((row) => `  var acc${row} = 0.0;`).join('\n')}${
  norm
    ? `\n  // The lanes of the first output row load every column once: they count the squares.\n  let counts = li < ${threadsPerRow}u;\n${rows.map((row) => `  var squares${row} = 0.0;`).join('\n')}`
    : ''
}
  if (valid) {${loop}
  }
${reduction}${norm ? normWgsl(inputRows, threadsPerRow) : ''}
${
  gated
    ? gatedStoreWgsl(storeShape, variant.activation ?? 'silu')
    : `  if (valid && lane == 0u) {
${store}
  }`
}
}
`;
}
