import type { ActivationKind } from '@strata/core';
import { activationFunction, WGSL_MATH } from '../wgsl/math.js';

// WGSL pieces of the multi-row mat-vec (`matvec-shader.ts`) beyond the product: the bindings of its store options, the
// RMS norm of its input rows, and the split and gated stores.

/** What the store pieces need of the kernel. */
export interface StoreShape {
  /** The store option (`MatvecVariant.store`). */
  readonly store: 'residual' | 'split2' | 'split3' | 'gated' | undefined;
  /** Input rows per row group. */
  readonly inputRows: number;
  /** The kernel adds `extra` (a bias) to each output. */
  readonly bias: boolean;
  /** Output rows per workgroup. */
  readonly rowsPerGroup: number;
}

/** The bindings after `output` that the norm and a store option add, in that order (from binding 5). */
export function storeBindingsWgsl(store: StoreShape['store'], norm: boolean, vector: boolean): string {
  const lines: string[] = [];
  let binding = 5;
  if (norm) {
    lines.push(
      `@group(0) @binding(${binding++}) var<storage, read> norm_gain: array<${vector ? 'vec4<f32>' : 'f32'}>;`,
    );
  }
  if (store === 'residual') lines.push(`@group(0) @binding(${binding++}) var<storage, read> residual: array<f32>;`);
  if (store === 'split2' || store === 'split3') {
    for (const part of store === 'split3' ? [1, 2] : [1]) {
      lines.push(`@group(0) @binding(${binding++}) var<storage, read_write> output${part}: array<f32>;`);
    }
  }
  return lines.join('\n');
}

/**
 * WGSL after the reduction of a mat-vec with the norm: each input row's squares (counted by the first output row's
 * lanes) summed over the workgroup, its `1/√(mean + ε)` shared, and every accumulator scaled by it.
 */
export function normWgsl(inputRows: number, threadsPerRow: number): string {
  const rows = Array.from({ length: inputRows }, (_, index) => index);
  return `
  if (counts) {
${rows.map((row) => `    norm_squares[${row * threadsPerRow}u + li] = squares${row};`).join('\n')}
  }
  workgroupBarrier();
  if (li < ${inputRows}u) {
    var total = 0.0;
    for (var k = 0u; k < ${threadsPerRow}u; k++) { total += norm_squares[li * ${threadsPerRow}u + k]; }
    norm_inverse[li] = inverseSqrt(total / f32(params.columns) + params.epsilon);
  }
  workgroupBarrier();
${rows.map((row) => `  acc${row} *= norm_inverse[${row}u];`).join('\n')}`;
}

/** The split store of accumulator `row`: its part by weight row `g`, each part `[rows, width]`. */
export function splitStoreWgsl(shape: StoreShape, row: number): string {
  const value = `acc${row}${shape.bias ? ' + extra[params.firstRow + o]' : ''}`;
  const rest =
    shape.store === 'split3'
      ? [
          `else if (g < params.boundary2) { output1[r * (params.boundary2 - params.boundary1) + g - params.boundary1] = ${value}; }`,
          `else { output2[r * (params.outRows - params.boundary2) + g - params.boundary2] = ${value}; }`,
        ]
      : [`else { output1[r * (params.outRows - params.boundary1) + g - params.boundary1] = ${value}; }`];
  return [
    `    if (firstInput + ${row}u < params.slots) {`,
    `      let r = firstInput + ${row}u;`,
    '      let g = params.firstRow + o;',
    `      if (g < params.boundary1) { output[r * params.boundary1 + g] = ${value}; }`,
    ...rest.map((line) => `      ${line}`),
    '    }',
  ].join('\n');
}

/**
 * The gated kernel's output rows: the first half of the workgroup's rows are gate rows `pair`, the second half the up
 * rows of the same indices (`boundary1` further); `valid` while the gate row exists.
 */
export function gatedIndexingWgsl(rowsPerGroup: number, threadsPerRow: number): string {
  const half = rowsPerGroup / 2;
  return `  let slot = li / ${threadsPerRow}u;
  let pair = linear_group(group, groups) * ${half}u + slot % ${half}u;
  let o = select(pair, params.boundary1 + pair, slot >= ${half}u);
  let valid = pair < params.boundary1;`;
}

/** Module-scope WGSL of the gated store: the activations and the up rows' totals shared with the gate rows. */
export function gatedSharedWgsl(shape: StoreShape): string {
  return `\n${WGSL_MATH}\nvar<workgroup> gated_up: array<f32, ${(shape.rowsPerGroup / 2) * shape.inputRows}>;`;
}

/** The gated store: the up rows' totals go through workgroup memory to the gate rows, which store `act(gate) · up`. */
export function gatedStoreWgsl(shape: StoreShape, activation: ActivationKind): string {
  const half = shape.rowsPerGroup / 2;
  const rows = Array.from({ length: shape.inputRows }, (_, index) => index);
  return `  if (valid && lane == 0u && slot >= ${half}u) {
${rows.map((row) => `    gated_up[(slot - ${half}u) * ${shape.inputRows}u + ${row}u] = acc${row};`).join('\n')}
  }
  workgroupBarrier();
  if (valid && lane == 0u && slot < ${half}u) {
${rows
  .map(
    (row) => `    if (firstInput + ${row}u < params.slots) {
      output[(firstInput + ${row}u) * params.boundary1 + pair] = ${activationFunction(activation)}(acc${row}) * gated_up[slot * ${shape.inputRows}u + ${row}u];
    }`,
  )
  .join('\n')}
  }`;
}
