import type { ActivationKind, WeightType } from '@strata/core';
import type { BufferBinding } from '../../runtime/recorder.js';
import type { GpuRuntime } from '../../runtime/runtime.js';
import type { StorageAccess } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import type { GpuWeight } from '../../weights/gpu-weight.js';
import { weightShader } from '../../wgsl/dequantize/index.js';
import { batchedQuantKernel } from './decode-kernels.js';
import { int8BatchGemm, int8BatchGemmVariant } from './int8/int8-batch-gemm.js';
import { int8BatchApplies, int8BatchMatvec } from './int8/int8-batch-matvec.js';
import { matvecChunks } from './matvec-chunks.js';
import { isFused, type MatvecEpilogue, type MatvecFusion } from './matvec-fusion.js';
import {
  DEFAULT_MATVEC_TUNING,
  MATVEC_STORAGE,
  MAX_GROUPED_MATVEC_ROWS,
  MAX_MATVEC_ROWS,
  type MatvecVariant,
  matvecGroupRows,
  matvecKey,
  matvecRowsPerWorkgroup,
  matvecWgsl,
} from './matvec-shader.js';

// Products of 2 to 32 input rows (a batched decode step) on the multi-row mat-vec, with what it can do in the same
// pass: the RMS norm of the input rows, a residual add, Q/K/V parts stored apart.

/** Most input rows a product runs on the multi-row mat-vec: 32 with `tuning.batchMatvec` (row groups), else 8. */
function multiRowMatvecLimit(runtime: GpuRuntime): number {
  return runtime.tuning.batchMatvec ? MAX_GROUPED_MATVEC_ROWS : MAX_MATVEC_ROWS;
}

/**
 * Whether a product of `rows` input rows with a `type` weight of `columns` runs on {@link multiRowMatvec}: 2 to
 * {@link multiRowMatvecLimit} rows, and one row where `tuning.int8BatchRows` takes one-row products to 8-bit inputs.
 */
export function multiRowMatvecTakes(runtime: GpuRuntime, rows: number, type: WeightType, columns: number): boolean {
  if (rows > multiRowMatvecLimit(runtime)) return false;
  return rows > 1 || (rows === 1 && int8BatchApplies(runtime, type, columns, 1));
}

/**
 * How {@link multiRowMatvec} stores its rows: plain, gated (the weight, one chunk, holds gate rows then up rows:
 * `activation(gate) · up` into `[rows, out / 2]`), with a residual of the output's shape added, or split by weight rows
 * into `[rows, width]` tensors (`widths` adds up to the weight's rows; `output` gets the first part).
 */
export type MultiRowStore =
  | { readonly kind: 'plain' }
  | { readonly kind: 'gated'; readonly activation: ActivationKind }
  | { readonly kind: 'residual'; readonly residual: GpuTensor }
  | { readonly kind: 'split'; readonly widths: readonly number[]; readonly outputs: readonly GpuTensor[] };

/** The RMS norm {@link multiRowMatvec} applies to its input rows: the gain vector (ones without a weight) and ε. */
export interface MultiRowNorm {
  /** The `[columns]` gain. */
  readonly gain: BufferBinding;
  /** ε. */
  readonly epsilon: number;
}

/**
 * The product of 2 to {@link multiRowMatvecLimit} rows, of the input rows RMS-normed in the same pass when `norm` is
 * given, stored as `store` says: from `tuning.int8BatchRows` rows on 8-bit inputs, on the int8 GEMM with a Q4_K or
 * Q8_0 weight where `tuning.int8BatchGemm` and subgroup matrices allow (`int8/int8-batch-gemm.ts`), else with a Q4_K,
 * Q6_K or Q8_0 weight on the 8-bit row-group mat-vec (`int8/int8-batch-matvec.ts`); otherwise on the one-row kernel
 * of the weight over row groups where it takes them (`batchedQuantKernel`: Q4_K, Q6_K), else on the multi-row mat-vec
 * in row groups of at most 8 (`matvecGroupRows`, workgroup z). Returns `output`.
 */
export function multiRowMatvec(
  runtime: GpuRuntime,
  tensors: { weight: GpuWeight; input: GpuTensor; bias: GpuWeight | undefined; output: GpuTensor },
  rows: number,
  store: MultiRowStore = { kind: 'plain' },
  norm?: MultiRowNorm,
): GpuTensor {
  const { weight, bias } = tensors;
  const type = weight.storedType;
  const columns = weight.shape[1]!;
  const layout = storeLayout(store, weight.shape[0]!);
  // The norm's ε and the store's boundaries travel in the fused kernels' extra uniforms (`fusionUniforms`).
  const fusion: MatvecFusion = { norm: norm !== undefined, epilogue: layout.epilogue };
  const params = { epsilon: norm?.epsilon ?? 0, boundary1: layout.boundary1, boundary2: layout.boundary2 };
  const gemm = int8BatchGemmVariant(runtime, type, columns, rows);
  if (gemm !== undefined) {
    const { epilogue, boundary1, boundary2, bindings: buffers } = layout;
    return int8BatchGemm(runtime, tensors, rows, { epilogue, boundary1, boundary2, buffers }, norm, gemm);
  }
  if (int8BatchApplies(runtime, type, columns, rows)) {
    // The norm is the quantizer's there; the kernel binds only the epilogue's buffers.
    const store = { epilogue: layout.epilogue, params, buffers: layout.bindings };
    return int8BatchMatvec(runtime, tensors, rows, store, norm);
  }
  const buffers = [...(norm === undefined ? [] : [norm.gain]), ...layout.bindings];
  const fused = isFused(fusion) ? { fusion, params, buffers } : undefined;
  // Where one row runs a quantized kernel with its inputs in registers, the rows run it too (batch invariance).
  const batched = batchedQuantKernel(runtime, type, columns, bias !== undefined, fusion, rows);
  if (batched !== undefined) return matvecChunks(runtime, batched, tensors, fused);
  const groupRows = matvecGroupRows(rows);
  const variant: MatvecVariant = {
    type,
    columns,
    inputRows: groupRows,
    mode: 'matmul',
    bias: bias !== undefined,
    ...layout.variant,
    ...(norm === undefined ? {} : { norm: true }),
    subgroups: runtime.features.subgroups,
    tuning: DEFAULT_MATVEC_TUNING,
  };
  const storage: StorageAccess[] = [
    ...MATVEC_STORAGE,
    ...(norm === undefined ? [] : ['read' as const]),
    ...layout.bindings.map(() => layout.access),
  ];
  const shader = { key: matvecKey(variant), code: () => matvecWgsl(variant), storage };
  const units = Math.ceil(columns / weightShader(type).unitColumns);
  const rowsPerWorkgroup = matvecRowsPerWorkgroup(DEFAULT_MATVEC_TUNING);
  const inputRows = { rows, groups: Math.ceil(rows / groupRows) };
  return matvecChunks(runtime, { shader, units, rowsPerWorkgroup, inputRows }, tensors, fused);
}

/**
 * What a store option means for the kernel: its variant fields, its epilogue (for the uniforms), the bindings it adds
 * after `output` and their access, and its boundaries (`weightRows`: the weight's rows).
 */
function storeLayout(
  store: MultiRowStore,
  weightRows: number,
): {
  variant: Pick<MatvecVariant, 'store' | 'activation'>;
  epilogue: MatvecEpilogue;
  bindings: BufferBinding[];
  access: StorageAccess;
  boundary1: number;
  boundary2: number;
} {
  const none = { bindings: [], access: 'read' as const, boundary1: 0, boundary2: 0 };
  switch (store.kind) {
    case 'plain':
      return { ...none, variant: {}, epilogue: { kind: 'store' } };
    case 'residual':
      return {
        ...none,
        variant: { store: 'residual' },
        epilogue: { kind: 'residual' },
        bindings: [{ tracked: store.residual.tracked }],
      };
    case 'gated':
      return {
        ...none,
        variant: { store: 'gated', activation: store.activation },
        epilogue: { kind: 'gated', activation: store.activation },
        boundary1: weightRows / 2,
        boundary2: weightRows / 2,
      };
    case 'split': {
      if (store.widths.length === 1) return { ...none, variant: {}, epilogue: { kind: 'store' } };
      const parts = store.widths.length as 2 | 3;
      return {
        variant: { store: parts === 3 ? 'split3' : 'split2' },
        epilogue: { kind: 'split', parts },
        bindings: store.outputs.slice(1).map((output) => ({ tracked: output.tracked })),
        access: 'write',
        boundary1: store.widths[0]!,
        boundary2: store.widths[0]! + (store.widths[1] ?? 0),
      };
    }
  }
}
