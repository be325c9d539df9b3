import type { ActivationKind } from '@strata/core';
import type { StorageAccess } from '../../runtime/shader.js';
import { activationFunction, WGSL_MATH } from '../wgsl/math.js';
import { workgroupReduction } from '../wgsl/reduce.js';

/**
 * What a one-input-row mat-vec kernel (`wide-matvec-shader.ts`, `quant-matvec-shader.ts`) does besides the product:
 * a prologue on its input and an epilogue on its output rows. Both are generated here, around the builders' unchanged
 * inner loops: the builders call these helpers at fixed places (the `Params` struct, the bindings, the input read, the
 * weight row of each accumulator, the start of `main` and the final store), and with {@link NO_FUSION} every helper
 * returns the text the builder had before, so plain kernels are unchanged.
 *
 * Bindings after the four of every mat-vec (weights, input, bias, output), in this order: `norm_gain` (with a
 * norm), `residual` (`'residual'`), `output1` and `output2` (`'split'`). Uniform words after the eleven of
 * `matvecUniforms`: `epsilon: f32, boundary1: u32, boundary2: u32` ({@link fusionUniforms}).
 */
export interface MatvecFusion {
  /**
   * RMS-norm prologue: the input row times 1/√(mean(x²) + ε), times the `norm_gain` vector, as `rmsNorm` computes it
   * (`x · inverse · gain`; a norm without weight binds a vector of ones, which gives its numbers exactly). Every
   * workgroup computes the mean square of the whole input row itself (a few KB, read from cache) before its first
   * product.
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

/** A plain mat-vec: no prologue, a plain store. */
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
 * Module-scope WGSL of the fusion: the norm's reduction and factor, and the shared totals and activation of `gated`.
 * `workgroupSize` and `subgroups` are the kernel's; `rowsPerWorkgroup` its output rows per workgroup.
 */
export function fusionFunctions(
  fusion: MatvecFusion,
  workgroupSize: number,
  subgroups: boolean,
  rowsPerWorkgroup: number,
): string {
  const parts: string[] = [];
  if (fusion.norm) {
    parts.push(workgroupReduction(subgroups, workgroupSize).functions);
    parts.push('var<private> norm_inverse: f32;');
  }
  if (fusion.epilogue.kind === 'gated') {
    parts.push(WGSL_MATH);
    parts.push(`var<workgroup> gated_totals: array<f32, ${rowsPerWorkgroup}>;`);
  }
  return parts.length === 0 ? '' : `\n${parts.join('\n')}`;
}

/**
 * Statements at the start of `main` (in uniform control flow): the norm prologue, which sets `norm_inverse` from the
 * whole input row (`input` as `array<vec4<f32>>` when `vectorInput`). Empty without a norm.
 */
export function fusionPrologue(
  fusion: MatvecFusion,
  workgroupSize: number,
  subgroups: boolean,
  vectorInput: boolean,
): string {
  if (!fusion.norm) return '';
  const args = workgroupReduction(subgroups, workgroupSize).args;
  const count = vectorInput ? '(params.columns >> 2u)' : 'params.columns';
  const square = vectorInput ? 'dot(value, value)' : 'value * value';
  return `
  var norm_squares = 0.0;
  for (var index = li; index < ${count}; index += ${workgroupSize}u) { let value = input[index]; norm_squares += ${square}; }
  norm_inverse = 1.0 / sqrt(reduce_sum(norm_squares, ${args}) / f32(params.columns) + params.epsilon);`;
}

/**
 * The normalised value of a `vec4` of input read by `raw` that starts at column `column` (an expression): `raw` itself
 * without a norm; else `raw · norm_inverse · gain`, the order of `rmsNorm`'s arithmetic. `vectorInput`: the gain
 * binding is `vec4` (the column is a multiple of 4); otherwise its values past the row's end count as 0.
 */
export function normalizedInput(fusion: MatvecFusion, raw: string, column: string, vectorInput: boolean): string {
  if (!fusion.norm) return raw;
  return `${raw} * norm_inverse * ${vectorInput ? `norm_gain[(${column}) >> 2u]` : `norm_gain4(${column})`}`;
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
 * {@link fusionWeightRow} for a row known only when the kernel runs: `row` is a WGSL `u32` expression below
 * `rowsPerWorkgroup` (kernels where each invocation sums one row).
 */
export function fusionLaneWeightRow(fusion: MatvecFusion, rowsPerWorkgroup: number, row: string): string {
  if (fusion.epilogue.kind !== 'gated') return `firstRow + ${row}`;
  const half = rowsPerWorkgroup / 2;
  return `select(firstRow + ${row}, params.boundary1 + firstRow + ${row} - ${half}u, ${row} >= ${half}u)`;
}

/**
 * The final store: invocation `li < rowsPerWorkgroup` holds row `firstRow + li`'s total in `result`. `bias`: add
 * `extra[row]` first (not with `gated`).
 */
export function fusionStore(fusion: MatvecFusion, rowsPerWorkgroup: number, bias: boolean): string {
  const epilogue = fusion.epilogue;
  if (epilogue.kind === 'gated') {
    const half = rowsPerWorkgroup / 2;
    return `  if (li < ${rowsPerWorkgroup}u) { gated_totals[li] = result; }
  workgroupBarrier();
  let o = firstRow + li;
  if (li < ${half}u && o < params.boundary1) {
    output[o] = ${activationFunction(epilogue.activation)}(gated_totals[li]) * gated_totals[li + ${half}u];
  }`;
  }
  const value = `result${bias ? ' + extra[params.firstRow + o]' : ''}`;
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
  return `  let o = firstRow + li;
  if (li < ${rowsPerWorkgroup}u && o < params.chunkRows) {
${store}
  }`;
}
