import type { WeightType } from '@strata/core';
import { rowsWordAligned, weightReaderWgsl, weightShader } from '../../wgsl/dequantize/index.js';
import {
  fusionBindings,
  fusionFunctions,
  fusionKey,
  fusionParamsFields,
  fusionPrologue,
  fusionRowStep,
  fusionStore,
  fusionWeightRow,
  type MatvecFusion,
  NO_FUSION,
  normalizedInput,
  normalizedInputFunctions,
} from './matvec-fusion.js';
import { rowReduction } from './row-reduction.js';

/**
 * Tunables of the single-row mat-vec where the whole workgroup spans a row: each invocation keeps the input values of
 * its `unitsPerThread` units in registers and reuses them for `rowsPerWorkgroup` weight rows, so the input is read once
 * per workgroup instead of once per row (for 4-bit weights the input bytes outnumber the weight bytes 8 to 1).
 */
export interface WideMatvecTuning {
  /** Invocations per workgroup (a power of two). */
  readonly workgroupSize: number;
  /** Output rows per workgroup. */
  readonly rowsPerWorkgroup: number;
  /** Units each invocation holds per column block. */
  readonly unitsPerThread: number;
}

/** Tuning measured best on an NVIDIA H200 (see BENCHMARKS.md). */
export const DEFAULT_WIDE_TUNING: WideMatvecTuning = { workgroupSize: 256, rowsPerWorkgroup: 8, unitsPerThread: 1 };

/** What a wide mat-vec kernel is specialised for. */
export interface WideMatvecVariant {
  /** Weight type as stored on the GPU (`GpuWeight.storedType`); selects the dequantizer compiled in. */
  readonly type: WeightType;
  /** Columns (decides whether the input is read as vec4 and whether weight rows are word-aligned). */
  readonly columns: number;
  /** Adds an f32 `bias` `[out]` to the output row. */
  readonly bias: boolean;
  /** The device has `subgroups`: row sums reduce within a subgroup by `subgroupAdd`, then across subgroups in memory. */
  readonly subgroups: boolean;
  /** Workgroup size, rows per workgroup and units per invocation baked into the code (part of the cache key). */
  readonly tuning: WideMatvecTuning;
  /** Fused RMS norm (in the same pass) and store epilogue (`matvec-fusion.ts`); default {@link NO_FUSION}. */
  readonly fusion?: MatvecFusion;
}

/** The cache key of a variant. */
export function wideMatvecKey(variant: WideMatvecVariant): string {
  const { type, columns, bias, subgroups, tuning } = variant;
  const shape = `${columns % 4 === 0 ? 'v4' : 'ragged'}:${rowsWordAligned(type, columns) ? 'a' : 'u'}`;
  return `matvec-wide:${type}:${shape}:b=${bias ? 1 : 0}:sg=${subgroups ? 1 : 0}:wg=${tuning.workgroupSize}:r=${tuning.rowsPerWorkgroup}:k=${tuning.unitsPerThread}${fusionKey(variant.fusion ?? NO_FUSION)}`;
}

/**
 * WGSL of the one-input-row mat-vec (decode). Same bindings and `Params` as the mat-vec of `matvec-shader.ts`
 * (`matvecUniforms`); grid: `ceil(chunkRows / rowsPerWorkgroup)` groups, linear over x and y. The loads of all rows and
 * units of a column block are branch-free (rows past the end re-read the last row, units past the end read a valid
 * unit against zero inputs), so they are all in flight together.
 */
export function wideMatvecWgsl(variant: WideMatvecVariant): string {
  const { type, columns, bias, subgroups, tuning } = variant;
  const fusion = variant.fusion ?? NO_FUSION;
  const shader = weightShader(type);
  const { workgroupSize, rowsPerWorkgroup, unitsPerThread } = tuning;
  const vector = columns % 4 === 0;
  const rows = Array.from({ length: rowsPerWorkgroup }, (_, index) => index);
  const units = Array.from({ length: unitsPerThread }, (_, index) => index);
  const groups = Array.from({ length: shader.groups }, (_, index) => index);
  const inputDeclaration = vector
    ? 'var<storage, read> input: array<vec4<f32>>;'
    : 'var<storage, read> input: array<f32>;';
  const inputRead = vector
    ? 'fn x4(column: u32) -> vec4<f32> { return input[column >> 2u]; }'
    : `fn x4(column: u32) -> vec4<f32> {
  var values = vec4<f32>(0.0);
  for (var i = 0u; i < 4u; i++) { if (column + i < params.columns) { values[i] = input[column + i]; } }
  return values;
}`;
  // The norm (if any) takes the loads after the zeroing of units past the end, so each column counts once.
  const loadInputs = units
    .map(
      (k) => `    let unit${k} = min(block + li + ${k * workgroupSize}u, last);
    let live${k} = block + li + ${k * workgroupSize}u <= last;
${groups
  .map((g) => {
    const column = `unit_column(unit${k}, ${g}u)`;
    const load = `select(vec4<f32>(0.0), x4(${column}), live${k})`;
    return `    let x${k}_${g} = ${normalizedInput(fusion, load, column, vector)};`;
  })
  .join('\n')}`,
    )
    .join('\n');
  const guard = (k: number, g: number) =>
    vector
      ? ''
      : `w${k}_${g} = select(vec4<f32>(0.0), w${k}_${g}, (vec4<u32>(unit_column(unit${k}, ${g}u)) + vec4<u32>(0u, 1u, 2u, 3u)) < vec4<u32>(params.columns));`;
  const perRow = rows
    .map(
      (r) => `    {
      let rowByte = min(${fusionWeightRow(fusion, rowsPerWorkgroup, r)}, params.chunkRows - 1u) * params.rowBytes;
${units
  .map(
    (k) => `      let values${k} = unit_load(rowByte, unit${k});
${groups.map((g) => `      var w${k}_${g} = values${k}[${g}];\n      ${guard(k, g)}\n      acc${r} += dot(w${k}_${g}, x${k}_${g});`).join('\n')}`,
  )
  .join('\n')}
    }`,
    )
    .join('\n');
  const reduction = rowReduction(rowsPerWorkgroup, workgroupSize, subgroups);
  return /* wgsl */ `${subgroups ? 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);' : ''}
struct Params {
  columns: u32, rowBytes: u32, units: u32, chunkRows: u32, firstRow: u32, outStride: u32,
  outRows: u32, topK: u32, slots: u32, slotOffset: u32, perSlotInput: u32,${fusionParamsFields(fusion)}
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> weights: array<u32>;
@group(0) @binding(2) ${inputDeclaration}
@group(0) @binding(3) var<storage, read> extra: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;${fusionBindings(fusion, vector)}
var<workgroup> scratch: array<f32, ${rowsPerWorkgroup * workgroupSize}>;${fusionFunctions(fusion, workgroupSize, subgroups, rowsPerWorkgroup)}
${weightReaderWgsl(type, columns)}${normalizedInputFunctions(fusion, vector)}
${inputRead}

@compute @workgroup_size(${workgroupSize})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32${
    subgroups ? ', @builtin(subgroup_invocation_id) sl: u32, @builtin(subgroup_size) ss: u32' : ''
  }) {${fusionPrologue(fusion)}
  let firstRow = (group.x + group.y * groups.x) * ${fusionRowStep(fusion, rowsPerWorkgroup)}u;
  let last = params.units - 1u;
${rows.map((r) => `  var acc${r} = 0.0;`).join('\n')}
  for (var block = 0u; block < params.units; block += ${workgroupSize * unitsPerThread}u) {
${loadInputs}
${perRow}
  }
  var result = 0.0;
${reduction}
${fusionStore(fusion, { rowsPerWorkgroup, workgroupSize, subgroups, bias })}
}
`;
}
