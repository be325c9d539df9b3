import { fusionStore, fusionWeightRow, type MatvecFusion, NO_FUSION, normalizedInput } from './matvec-fusion.js';
import { quantMatvecOpening } from './quant-matvec-header.js';
import type { QuantMatvecVariant } from './quant-matvec-shader.js';
import { rowReduction } from './row-reduction.js';

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
  /** The loop's statements before the row blocks: unit `u`'s inputs, loaded into registers. */
  readonly loads: string;
  /**
   * The statements of row `row`'s block in the loop, which add its share to `acc{row}`; `weightRow` is the index of
   * the row's weight row in the chunk (clamped to the chunk).
   */
  readonly row: (row: number, weightRow: string) => string;
  /** Statements after the loop, before the reduction (none when absent). */
  readonly after?: string;
}

/**
 * WGSL of a one-row kernel that keeps a unit's inputs in registers and reuses them for `rowsPerWorkgroup` weight rows
 * (Q4_K `group` and `vector`, Q6_K, Q8_0 `group`): {@link quantMatvecOpening}, one accumulator per row, the loop over
 * units (`parts.loads`, then one block per row), the workgroup reduction (`row-reduction.ts`) and the fusion's store.
 */
export function registerRowsKernel(variant: QuantMatvecVariant, parts: RegisterRowsParts): string {
  const { bias, subgroups } = variant;
  const fusion = variant.fusion ?? NO_FUSION;
  const rowsPerWorkgroup = variant.tuning.rowsPerWorkgroup;
  const workgroupSize = parts.workgroupSize;
  const rows = Array.from({ length: rowsPerWorkgroup }, (_, index) => index);
  const weightRow = (row: number) => `min(${fusionWeightRow(fusion, rowsPerWorkgroup, row)}, params.chunkRows - 1u)`;
  const opening = quantMatvecOpening({
    subgroups,
    fusion,
    weightWords: parts.weightWords,
    rowsPerWorkgroup,
    workgroupSize,
    scratch: rowsPerWorkgroup * workgroupSize,
    functions: parts.functions,
  });
  const lines = [
    opening,
    parts.setup,
    rows.map((r) => `  var acc${r} = 0.0;`).join('\n'),
    `  for (var u = li; u < ${parts.units}u; u += ${workgroupSize}u) {`,
    parts.loads,
    rows.map((r) => `    {\n${parts.row(r, weightRow(r))}\n    }`).join('\n'),
    '  }',
    parts.after,
    '  var result = 0.0;',
    rowReduction(rowsPerWorkgroup, workgroupSize, subgroups),
    fusionStore(fusion, { rowsPerWorkgroup, workgroupSize, subgroups, bias }),
    '}',
    '',
  ];
  return lines.filter((line) => line !== undefined).join('\n');
}

/** Statements loading the 64 inputs (`x0` … `x15`, `vec4<f32>`) of 64-column group `u` of the row. */
export function groupInputs(fusion: MatvecFusion): string {
  return Array.from(
    { length: 16 },
    (_, i) => `    let x${i} = ${normalizedInput(fusion, `input[u * 16u + ${i}u]`, `(u * 16u + ${i}u) * 4u`, true)};`,
  ).join('\n');
}
