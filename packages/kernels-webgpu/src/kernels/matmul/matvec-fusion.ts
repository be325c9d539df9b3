import type { ActivationKind } from '@strata/core';
import type { StorageAccess } from '../../runtime/shader.js';
import { activationFunction, WGSL_MATH } from '../wgsl/math.js';
import { workgroupReduction } from '../wgsl/reduce.js';

/**
 * What a one-input-row mat-vec kernel (`wide-matvec-shader.ts`, `quant-matvec-shader.ts`) does besides the product:
 * an RMS norm of its input row, computed in the same pass, and an epilogue on its output rows. Both are generated here,
 * around the builders' unchanged inner loops: the builders call these helpers at fixed places (the `Params` struct, the
 * bindings, each input load, the weight row of each accumulator, the start of `main` and the final store), and with
 * {@link NO_FUSION} every helper returns the text the builder had before, so plain kernels are unchanged. The norm
 * needs a kernel whose workgroup loads every column of the input row; a kernel whose invocations load some columns
 * more than once keeps one share per column with {@link fusionSquaresOnlyWhere}.
 *
 * Bindings after the four of every mat-vec (weights, input, bias, output), in this order: `norm_gain` (with a
 * norm), `residual` (`'residual'`), `output1` and `output2` (`'split'`). Uniform words after the eleven of
 * `matvecUniforms`: `epsilon: f32, boundary1: u32, boundary2: u32` ({@link fusionUniforms}).
 */
export interface MatvecFusion {
  /**
   * RMS norm of the input row, in the same pass as the product: `rmsNorm(x) · g · w = inverse · Σ xᵢ·gᵢ·wᵢ` with
   * `inverse = 1/√(mean(x²) + ε)`. Each invocation multiplies the values it loads by the `norm_gain` vector (a norm
   * without weight binds a vector of ones) and adds their squares to its share of `Σ x²`; the store reduces the shares
   * over the workgroup, whose invocations together load every column of the row, and scales each row's total by
   * `inverse` (the bias, residual and activation come after). The numbers differ from `rmsNorm` then `matmul` by f32
   * rounding only.
   */
  readonly norm: boolean;
  /** How output rows are stored. */
  readonly epilogue: MatvecEpilogue;
}

/**
 * The store of an output row `row` (over all chunks) of value `v` (bias included):
 * - `store`: `output[row] = v`;
 * - `residual`: `output[row] = residual[row] + v` (the residual add of a pre-norm block);
 * - `split`: rows below `boundary1` to `output`, then below `boundary2` to `output1`, the rest to `output2` (Q, K and V
 *   of one concatenated weight into three tensors);
 * - `gated`: the weight holds gate rows then up rows (`boundary1` of each); every workgroup computes `rows / 2` gate
 *   rows and the up rows of the same indices, and stores `activation(gate) · up` at the gate row's index. The weight
 *   must be one chunk (`firstRow` 0), with no bias.
 */
export type MatvecEpilogue =
  | { readonly kind: 'store' }
  | { readonly kind: 'residual' }
  | { readonly kind: 'split'; readonly parts: 2 | 3 }
  | { readonly kind: 'gated'; readonly activation: ActivationKind };

/** A plain mat-vec: no norm, a plain store. */
export const NO_FUSION: MatvecFusion = Object.freeze({ norm: false, epilogue: Object.freeze({ kind: 'store' }) });

/** True when the fusion changes anything (the kernel gets the extra uniforms). */
export function isFused(fusion: MatvecFusion): boolean {
  return fusion.norm || fusion.epilogue.kind !== 'store';
}

/** Suffix of the pipeline cache key (empty for {@link NO_FUSION}, so plain keys are unchanged). */
export function fusionKey(fusion: MatvecFusion): string {
  if (!isFused(fusion)) return '';
  const epilogue = fusion.epilogue;
  const store =
    epilogue.kind === 'split'
      ? `split${epilogue.parts}`
      : epilogue.kind === 'gated'
        ? `gated-${epilogue.activation}`
        : epilogue.kind;
  return `:fuse=${fusion.norm ? 'norm-' : ''}${store}`;
}

/** Extra fields at the end of `struct Params` (empty when not fused). */
export function fusionParamsFields(fusion: MatvecFusion): string {
  return isFused(fusion) ? '\n  epsilon: f32, boundary1: u32, boundary2: u32,' : '';
}

/** Access of the extra storage bindings, after the four of the plain kernel. */
export function fusionStorage(fusion: MatvecFusion): StorageAccess[] {
  const storage: StorageAccess[] = [];
  if (fusion.norm) storage.push('read');
  if (fusion.epilogue.kind === 'residual') storage.push('read');
  if (fusion.epilogue.kind === 'split') for (let part = 1; part < fusion.epilogue.parts; part++) storage.push('write');
  return storage;
}

/** The uniform values of a fused kernel beyond the plain ones. */
export interface FusionParams {
  /** ε of the norm (0 without one). */
  readonly epsilon: number;
  /** First row of `output1` (`split`), or gate rows (`gated`). */
  readonly boundary1: number;
  /** First row of `output2` (`split` into 3). */
  readonly boundary2: number;
}

/** The plain kernel's uniform words followed by those of {@link FusionParams} (unchanged when not fused). */
export function fusionUniforms(fusion: MatvecFusion, words: Uint32Array, params: FusionParams): Uint32Array {
  if (!isFused(fusion)) return words;
  const result = new Uint32Array(words.length + 3);
  result.set(words);
  new Float32Array(result.buffer, words.length * 4, 1)[0] = params.epsilon;
  result[words.length + 1] = params.boundary1;
  result[words.length + 2] = params.boundary2;
  return result;
}

/** Declarations of the extra bindings (`vectorInput`: the input is read as `vec4`, so is the norm gain). */
export function fusionBindings(fusion: MatvecFusion, vectorInput: boolean): string {
  const lines: string[] = [];
  let binding = 5;
  if (fusion.norm) {
    lines.push(
      `@group(0) @binding(${binding++}) var<storage, read> norm_gain: array<${vectorInput ? 'vec4<f32>' : 'f32'}>;`,
    );
  }
  if (fusion.epilogue.kind === 'residual') {
    lines.push(`@group(0) @binding(${binding++}) var<storage, read> residual: array<f32>;`);
  }
  if (fusion.epilogue.kind === 'split') {
    for (let part = 1; part < fusion.epilogue.parts; part++) {
      lines.push(`@group(0) @binding(${binding++}) var<storage, read_write> output${part}: array<f32>;`);
    }
  }
  return lines.length === 0 ? '' : `\n${lines.join('\n')}`;
}

/**
 * Module-scope WGSL of the fusion: the norm's reduction and `norm_input`, and the shared totals and activation of
 * `gated`. `workgroupSize` and `subgroups` are the kernel's; `rowsPerWorkgroup` its output rows per workgroup.
 */
export function fusionFunctions(
  fusion: MatvecFusion,
  workgroupSize: number,
  subgroups: boolean,
  rowsPerWorkgroup: number,
  inputRows = 1,
): string {
  const parts: string[] = [];
  if (fusion.norm) {
    parts.push(workgroupReduction(subgroups, workgroupSize).functions);
    parts.push(`// An input vec4 for the product: x · gain; its x² go to the invocation's share of the row's sum of squares.
fn norm_input(x: vec4<f32>, gain: vec4<f32>, squares: ptr<function, f32>) -> vec4<f32> {
  *squares += dot(x, x);
  return x * gain;
}`);
  }
  if (fusion.epilogue.kind === 'gated') {
    parts.push(WGSL_MATH);
    parts.push(`var<workgroup> gated_totals: array<f32, ${rowsPerWorkgroup * inputRows}>;`);
  }
  return parts.length === 0 ? '' : `\n${parts.join('\n')}`;
}

/**
 * Statements at the start of `main`: with a norm, the invocation's share of the row's sum of squares, which
 * {@link normalizedInput} adds to (`norm_squares`; over several input rows one per row, `norm_squares0` …). Empty
 * without a norm.
 */
export function fusionPrologue(fusion: MatvecFusion, inputRows = 1): string {
  if (!fusion.norm) return '';
  if (inputRows === 1) return '\n  var norm_squares = 0.0;';
  return Array.from({ length: inputRows }, (_, row) => `\n  var norm_squares${row} = 0.0;`).join('');
}

/**
 * A `vec4` of input `raw` that starts at column `column` (an expression), as the product takes it: `raw` itself
 * without a norm; else `raw · gain`, with `dot(raw, raw)` added to `norm_squares` (the `inverse` of the norm scales
 * the row totals in {@link fusionStore}). Use it once per loaded value, in `main`, with `raw` zero where the value is
 * not the row's (a unit past the end, columns past `params.columns`): every column must count once. `vectorInput`:
 * the gain binding is `vec4` (the column is a multiple of 4); otherwise its values past the row's end count as 0.
 * `squares`: the share to add to (another input row's, in a kernel over several).
 */
export function normalizedInput(
  fusion: MatvecFusion,
  raw: string,
  column: string,
  vectorInput: boolean,
  squares = 'norm_squares',
): string {
  if (!fusion.norm) return raw;
  const gain = vectorInput ? `norm_gain[(${column}) >> 2u]` : `norm_gain4(${column})`;
  return `norm_input(${raw}, ${gain}, &${squares})`;
}

/** Module-scope WGSL the ragged gain read needs (`norm_gain4`), or nothing. */
export function normalizedInputFunctions(fusion: MatvecFusion, vectorInput: boolean): string {
  if (!fusion.norm || vectorInput) return '';
  return `
fn norm_gain4(column: u32) -> vec4<f32> {
  var values = vec4<f32>(0.0);
  for (var i = 0u; i < 4u; i++) { if (column + i < params.columns) { values[i] = norm_gain[column + i]; } }
  return values;
}`;
}

/** Output rows a workgroup starts at per group index: `rowsPerWorkgroup`, or half of it for `gated` (its gate rows). */
export function fusionRowStep(fusion: MatvecFusion, rowsPerWorkgroup: number): number {
  return fusion.epilogue.kind === 'gated' ? rowsPerWorkgroup / 2 : rowsPerWorkgroup;
}

/**
 * The weight row (before clamping) of accumulator `row` of a workgroup whose first row is `firstRow`: `firstRow + row`;
 * for `gated`, the gate rows first, then the up rows of the same indices (`boundary1` further).
 */
export function fusionWeightRow(fusion: MatvecFusion, rowsPerWorkgroup: number, row: number): string {
  const half = rowsPerWorkgroup / 2;
  if (fusion.epilogue.kind !== 'gated' || row < half) return `firstRow + ${row}u`;
  return `params.boundary1 + firstRow + ${row - half}u`;
}

/**
 * For kernels where several invocations of a workgroup load the same input columns (the Q4_K `rows` layout: the lanes
 * of a slice take different rows of the same columns): a statement, before {@link fusionStore}, that keeps an
 * invocation's share of the sum of squares only where `counts` (a WGSL `bool`) holds, which must pick exactly one
 * invocation per loaded column. Empty without a norm.
 */
export function fusionSquaresOnlyWhere(fusion: MatvecFusion, counts: string): string {
  return fusion.norm ? `\n  if (!(${counts})) { norm_squares = 0.0; }` : '';
}

/** What {@link fusionStore} needs of the kernel. */
export interface FusionStoreShape {
  /** Output rows per workgroup (invocation `li` below it holds row `firstRow + li`'s total). */
  readonly rowsPerWorkgroup: number;
  /** Invocations per workgroup (the norm's reduction). */
  readonly workgroupSize: number;
  /** The kernel enables subgroups (the norm's reduction; its entry point has `sl` and `ss`). */
  readonly subgroups: boolean;
  /** Add `extra[row]` (not with `gated`). */
  readonly bias: boolean;
}

/**
 * {@link fusionWeightRow} for a row known only when the kernel runs: `row` is a WGSL `u32` expression below
 * `rowsPerWorkgroup` (kernels where each invocation sums one row).
 */
export function fusionLaneWeightRow(fusion: MatvecFusion, rowsPerWorkgroup: number, row: string): string {
  if (fusion.epilogue.kind !== 'gated') return `firstRow + ${row}`;
  const half = rowsPerWorkgroup / 2;
  return `select(firstRow + ${row}, params.boundary1 + firstRow + ${row} - ${half}u, ${row} >= ${half}u)`;
}

/**
 * The final store, in uniform control flow: invocation `li < rowsPerWorkgroup` holds row `firstRow + li`'s total in
 * `result`. With a norm, the shares of `norm_squares` are reduced over the workgroup first and the totals scaled by
 * the norm's `inverse`.
 */
export function fusionStore(fusion: MatvecFusion, shape: FusionStoreShape): string {
  const { rowsPerWorkgroup, workgroupSize, subgroups, bias } = shape;
  const epilogue = fusion.epilogue;
  const norm = fusion.norm
    ? `  // The norm's 1/√(mean(x²) + ε): the workgroup's invocations loaded every column of the row once.
  let norm_inverse = 1.0 / sqrt(reduce_sum(norm_squares, ${workgroupReduction(subgroups, workgroupSize).args}) / f32(params.columns) + params.epsilon);
`
    : '';
  const total = fusion.norm ? 'result * norm_inverse' : 'result';
  if (epilogue.kind === 'gated') {
    const half = rowsPerWorkgroup / 2;
    return `${norm}  if (li < ${rowsPerWorkgroup}u) { gated_totals[li] = ${total}; }
  workgroupBarrier();
  let o = firstRow + li;
  if (li < ${half}u && o < params.boundary1) {
    output[o] = ${activationFunction(epilogue.activation)}(gated_totals[li]) * gated_totals[li + ${half}u];
  }`;
  }
  const value = `${total}${bias ? ' + extra[params.firstRow + o]' : ''}`;
  const store =
    epilogue.kind === 'store'
      ? `    output[params.firstRow + o] = ${value};`
      : epilogue.kind === 'residual'
        ? `    let row = params.firstRow + o;\n    output[row] = residual[row] + (${value});`
        : `    let row = params.firstRow + o;
    let value = ${value};
    if (row < params.boundary1) {
      output[row] = value;
    } else ${
      epilogue.parts === 2
        ? '{\n      output1[row - params.boundary1] = value;\n    }'
        : `if (row < params.boundary2) {
      output1[row - params.boundary1] = value;
    } else {
      output2[row - params.boundary2] = value;
    }`
    }`;
  return `${norm}  let o = firstRow + li;
  if (li < ${rowsPerWorkgroup}u && o < params.chunkRows) {
${store}
  }`;
}
