import type { WeightType } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { weightShader } from '../../wgsl/dequantize/index.js';
import type { MatvecKernel } from './matvec-chunks.js';
import { fusionStorage, isFused, type MatvecFusion, NO_FUSION } from './matvec-fusion.js';
import { MATVEC_STORAGE } from './matvec-shader.js';
import {
  Q4K_MATVEC_TUNING,
  Q6K_MATVEC_TUNING,
  type QuantMatvecTuning,
  type QuantMatvecVariant,
  quantMatvecBatchable,
  quantMatvecFusable,
  quantMatvecKey,
  quantMatvecRowsPerWorkgroup,
  quantMatvecSupported,
  quantMatvecWgsl,
  quantMatvecWorkgroupSize,
} from './quant-matvec-shader.js';
import { registerRowsInputLimit } from './register-rows-kernel.js';
import { DEFAULT_WIDE_TUNING, type WideMatvecVariant, wideMatvecKey, wideMatvecWgsl } from './wide-matvec-shader.js';

// Which kernel a decode product runs: one input row (`singleRowKernel`) and the rows of a batched decode step on the
// same kernel where it can take them (`batchedQuantKernel`).

/** The tuning of the specialised one-row kernel `matmul` routes `type` to, or undefined (the wide kernel). */
export function routedQuantTuning(runtime: GpuRuntime, type: WeightType): QuantMatvecTuning | undefined {
  if (type !== 'Q4_K' && type !== 'Q6_K' && type !== 'Q8_0') return undefined;
  const chosen = runtime.tuning.quantMatvec[type];
  if (chosen !== undefined) return chosen;
  if (type === 'Q4_K') return Q4K_MATVEC_TUNING;
  return type === 'Q6_K' ? Q6K_MATVEC_TUNING : undefined;
}

/**
 * The decode mat-vec for a weight of `type` and `columns`: the specialised Q4_K (`Q4K_MATVEC_TUNING`) or Q6_K
 * (`Q6K_MATVEC_TUNING`) kernel
 * where it applies (or the one a backend's `tuning.quantMatvec` names), else the wide one; `fusion` adds the RMS norm
 * (in the same pass) and a store epilogue to either (`matvec-fusion.ts`).
 */
export function singleRowKernel(
  runtime: GpuRuntime,
  type: WeightType,
  columns: number,
  bias: boolean,
  fusion: MatvecFusion = NO_FUSION,
): MatvecKernel {
  const storage = [...MATVEC_STORAGE, ...fusionStorage(fusion)];
  const tuning = routedQuantTuning(runtime, type);
  if (
    tuning !== undefined &&
    quantMatvecSupported(type, columns) &&
    (!isFused(fusion) || quantMatvecFusable(type, tuning))
  ) {
    const variant: QuantMatvecVariant = {
      type,
      columns,
      bias,
      subgroups: runtime.features.subgroups,
      tuning,
      fusion,
    };
    const shader = { key: quantMatvecKey(variant), code: () => quantMatvecWgsl(variant), storage };
    return { shader, units: 0, rowsPerWorkgroup: quantMatvecRowsPerWorkgroup(variant) };
  }
  const variant: WideMatvecVariant = {
    type,
    columns,
    bias,
    subgroups: runtime.features.subgroups,
    tuning: DEFAULT_WIDE_TUNING,
    fusion,
  };
  const shader = { key: wideMatvecKey(variant), code: () => wideMatvecWgsl(variant), storage };
  const units = Math.ceil(columns / weightShader(type).unitColumns);
  return { shader, units, rowsPerWorkgroup: DEFAULT_WIDE_TUNING.rowsPerWorkgroup };
}

/** Most weight rows one workgroup of a batched quantized product computes. */
const BATCH_ROWS_PER_WORKGROUP = 4;

/**
 * The kernel of a product of 2 or more `rows` (a batched decode step) when `singleRowKernel` would route one row of it
 * to a quantized kernel that keeps its inputs in registers (Q4_K, Q6_K: `quantMatvecBatchable`) and
 * `tuning.batchQuantRows` is above 1: that kernel over row groups of up to that many rows (fewer where
 * `registerRowsInputLimit` says; workgroup z),
 * so that every row of the product equals its one-row product bit for bit (a sequence's tokens do not depend on the
 * batch it runs in). Undefined otherwise (the multi-row mat-vec then runs the product).
 */
export function batchedQuantKernel(
  runtime: GpuRuntime,
  type: WeightType,
  columns: number,
  bias: boolean,
  fusion: MatvecFusion,
  rows: number,
): MatvecKernel | undefined {
  const tuning = routedQuantTuning(runtime, type);
  if (
    runtime.tuning.batchQuantRows < 2 ||
    tuning === undefined ||
    !quantMatvecSupported(type, columns) ||
    !quantMatvecBatchable(type, tuning) ||
    (isFused(fusion) && !quantMatvecFusable(type, tuning))
  ) {
    return undefined;
  }
  // At most 4 weight rows per workgroup (Q6_K routes 8 for one row): rows × input rows blocks of code per unit stay
  // few enough to compile quickly. The rows per workgroup do not change any row's arithmetic, the workgroup size
  // (which units an invocation sums) stays the one-row kernel's.
  const batchTuning = { ...tuning, rowsPerWorkgroup: Math.min(tuning.rowsPerWorkgroup, BATCH_ROWS_PER_WORKGROUP) };
  // The gated store pairs the first half of a workgroup's rows (gate) with the second (up).
  if (fusion.epilogue.kind === 'gated' && batchTuning.rowsPerWorkgroup % 2 !== 0) return undefined;
  const limit = Math.min(
    runtime.tuning.batchQuantRows,
    registerRowsInputLimit(batchTuning.rowsPerWorkgroup, quantMatvecWorkgroupSize(type, columns, tuning)),
  );
  if (limit < 2) return undefined;
  const groups = Math.ceil(rows / limit);
  const inputRows = Math.ceil(rows / groups);
  const variant: QuantMatvecVariant = {
    type,
    columns,
    bias,
    subgroups: runtime.features.subgroups,
    tuning: batchTuning,
    fusion,
    inputRows,
  };
  const storage = [...MATVEC_STORAGE, ...fusionStorage(fusion)];
  const shader = { key: quantMatvecKey(variant), code: () => quantMatvecWgsl(variant), storage };
  return { shader, units: 0, rowsPerWorkgroup: quantMatvecRowsPerWorkgroup(variant), inputRows: { rows, groups } };
}
