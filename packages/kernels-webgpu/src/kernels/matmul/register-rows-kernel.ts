import { accumulatorName, inputRowBases, inputRowName, inputRowsReduction, inputRowsStore } from './input-rows-wgsl.js';
import { fusionStore, fusionWeightRow, type MatvecFusion, NO_FUSION, normalizedInput } from './matvec-fusion.js';
import { quantMatvecOpening } from './quant-matvec-header.js';
import type { QuantMatvecVariant } from './quant-matvec-shader.js';
import { rowReduction } from './row-reduction.js';

/**
 * One input row as a kernel's loads see it: `base`, text that goes before a `vec4` index into `input` (empty in a
 * one-row kernel, `inputBase{b} + ` over several rows), and `squares`, the norm's share its loads add to.
 */
export interface InputRowText {
  /** Prefix of a `vec4` index into `input`. */
  readonly base: string;
  /** The `norm_squares` variable of this input row (`normalizedInput`). */
  readonly squares: string;
}

/** The input row of a one-row kernel. */
export const ONE_INPUT_ROW: InputRowText = Object.freeze({ base: '', squares: 'norm_squares' });

/** The parts of a {@link registerRowsKernel} that differ between weight types and layouts. */
export interface RegisterRowsParts {
  /** How the kernel reads `weights`. */
  readonly weightWords: 'vec4<u32>' | 'u32';
  /** Invocations per workgroup. */
  readonly workgroupSize: number;
  /** Work units of a row: the loop runs `u` over them, `workgroupSize` apart. */
  readonly units: number;
  /** The kernel's own module-scope WGSL functions. */
  readonly functions: string;
  /** Statements after `firstRow`, before the accumulators (none when absent). */
  readonly setup?: string;
  /** The loop's statements before the row blocks: unit `u`'s inputs of input row `input`, loaded into registers. */
  readonly loads: (input: InputRowText) => string;
  /**
   * The statements of row `row`'s block in the loop, which add its share to `accumulator`; `weightRow` is the index
   * of the row's weight row in the chunk (clamped to the chunk).
   */
  readonly row: (row: number, weightRow: string, accumulator: string) => string;
  /** A statement after the loop, before the reduction, for each accumulator (none when absent). */
  readonly after?: (accumulator: string) => string;
}

/** Floats of workgroup memory a register-rows kernel may use for its reduction (16 KiB, WebGPU's default limit). */
const SCRATCH_FLOATS = 4096;

/**
 * Most input rows one workgroup of a register-rows kernel with `rowsPerWorkgroup` rows and `workgroupSize`
 * invocations multiplies with each weight row (its reduction keeps `rows · inputRows · workgroupSize` floats), at most 8.
 */
export function registerRowsInputLimit(rowsPerWorkgroup: number, workgroupSize: number): number {
  return Math.min(8, Math.floor(SCRATCH_FLOATS / (rowsPerWorkgroup * workgroupSize)));
}

/**
 * WGSL of a kernel that keeps a unit's inputs in registers and reuses them for `rowsPerWorkgroup` weight rows (Q4_K
 * `group` and `vector`, Q6_K, Q8_0 `group`): {@link quantMatvecOpening}, one accumulator per row, the loop over units
 * (`parts.loads`, then one block per row), the workgroup reduction (`row-reduction.ts`) and the fusion's store.
 *
 * With `variant.inputRows` above 1 (a row group of a batched product, workgroup z: `input-rows-wgsl.ts`) the loop
 * body repeats for each input row, with one accumulator per (weight row, input row) computed, reduced and stored
 * exactly as the one-row kernel does: each row of the product equals its one-row product bit for bit.
 */
export function registerRowsKernel(variant: QuantMatvecVariant, parts: RegisterRowsParts): string {
  const { bias, subgroups } = variant;
  const fusion = variant.fusion ?? NO_FUSION;
  const rowsPerWorkgroup = variant.tuning.rowsPerWorkgroup;
  const inputRows = variant.inputRows ?? 1;
  const workgroupSize = parts.workgroupSize;
  const rows = Array.from({ length: rowsPerWorkgroup }, (_, index) => index);
  const inputs = Array.from({ length: inputRows }, (_, index) => index);
  const accumulators = inputs.flatMap((input) => rows.map((row) => accumulatorName(row, input, inputRows)));
  const weightRow = (row: number) => `min(${fusionWeightRow(fusion, rowsPerWorkgroup, row)}, params.chunkRows - 1u)`;
  const opening = quantMatvecOpening({
    subgroups,
    fusion,
    weightWords: parts.weightWords,
    rowsPerWorkgroup,
    workgroupSize,
    scratch: rowsPerWorkgroup * inputRows * workgroupSize,
    functions: parts.functions,
    inputRows,
  });
  const block = (input: number) => {
    const text = {
      base: inputRows === 1 ? '' : `inputBase${input} + `,
      squares: inputRowName('norm_squares', inputRows, input),
    };
    const body = [
      parts.loads(text),
      rows.map((r) => `    {\n${parts.row(r, weightRow(r), accumulatorName(r, input, inputRows))}\n    }`).join('\n'),
    ].join('\n');
    return inputRows === 1 ? body : `    {\n${body}\n    }`;
  };
  const shape = { rowsPerWorkgroup, workgroupSize, subgroups, bias };
  const lines = [
    opening,
    inputRows === 1 ? undefined : inputRowBases(inputRows, variant.columns),
    parts.setup,
    accumulators.map((name) => `  var ${name} = 0.0;`).join('\n'),
    `  for (var u = li; u < ${parts.units}u; u += ${workgroupSize}u) {`,
    inputs.map(block).join('\n'),
    '  }',
    parts.after === undefined ? undefined : accumulators.map(parts.after).join('\n'),
    inputs.map((input) => `  var ${inputRowName('result', inputRows, input)} = 0.0;`).join('\n'),
    inputRows === 1
      ? rowReduction(rowsPerWorkgroup, workgroupSize, subgroups)
      : inputRowsReduction(rowsPerWorkgroup, inputRows, workgroupSize, subgroups),
    inputRows === 1 ? fusionStore(fusion, shape) : inputRowsStore(fusion, shape, inputRows),
    '}',
    '',
  ];
  return lines.filter((line) => line !== undefined).join('\n');
}

/** Statements loading the 64 inputs (`x0` … `x15`, `vec4<f32>`) of 64-column group `u` of input row `input`. */
export function groupInputs(fusion: MatvecFusion, input: InputRowText): string {
  return Array.from(
    { length: 16 },
    (_, i) =>
      `    let x${i} = ${normalizedInput(fusion, `input[${input.base}u * 16u + ${i}u]`, `(u * 16u + ${i}u) * 4u`, true, input.squares)};`,
  ).join('\n');
}
