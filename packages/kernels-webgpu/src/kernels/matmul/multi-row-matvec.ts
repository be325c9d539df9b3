import type { ActivationKind } from '@strata/core';
import type { BufferBinding } from '../../runtime/recorder.js';
import type { GpuRuntime } from '../../runtime/runtime.js';
import type { StorageAccess } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import type { GpuWeight } from '../../weights/gpu-weight.js';
import { weightShader } from '../../wgsl/dequantize/index.js';
import { matvecChunks } from './matvec-chunks.js';
import { isFused, type MatvecFusion } from './matvec-fusion.js';
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
export function multiRowMatvecLimit(runtime: GpuRuntime): number {
  return runtime.tuning.batchMatvec ? MAX_GROUPED_MATVEC_ROWS : MAX_MATVEC_ROWS;
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
 * The product of 2 to {@link multiRowMatvecLimit} rows on the multi-row mat-vec, in row groups of at most 8
 * (`matvecGroupRows`, workgroup z), of the input rows RMS-normed in the same pass when `norm` is given, stored as
 * `store` says. Returns `output`.
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
  const groupRows = matvecGroupRows(rows);
  const split = store.kind === 'split' && store.widths.length > 1 ? store : undefined;
  const variant: MatvecVariant = {
    type,
    columns,
    inputRows: groupRows,
    mode: 'matmul',
    bias: bias !== undefined,
    ...(store.kind === 'residual' ? { store: 'residual' } : {}),
    ...(split === undefined ? {} : { store: split.widths.length === 3 ? 'split3' : 'split2' }),
    ...(store.kind === 'gated' ? { store: 'gated', activation: store.activation } : {}),
    ...(norm === undefined ? {} : { norm: true }),
    subgroups: runtime.features.subgroups,
    tuning: DEFAULT_MATVEC_TUNING,
  };
  const stored: BufferBinding[] =
    store.kind === 'residual'
      ? [{ tracked: store.residual.tracked }]
      : (split?.outputs.slice(1).map((output) => ({ tracked: output.tracked })) ?? []);
  const storedAccess: StorageAccess = store.kind === 'residual' ? 'read' : 'write';
  const storage: StorageAccess[] = [
    ...MATVEC_STORAGE,
    ...(norm === undefined ? [] : ['read' as const]),
    ...stored.map(() => storedAccess),
  ];
  const shader = { key: matvecKey(variant), code: () => matvecWgsl(variant), storage };
  const units = Math.ceil(columns / weightShader(type).unitColumns);
  const rowsPerWorkgroup = matvecRowsPerWorkgroup(DEFAULT_MATVEC_TUNING);
  const inputRows = { rows, groups: Math.ceil(rows / groupRows) };
  // The norm's ε and a split's boundaries travel in the fused kernels' extra uniforms (`fusionUniforms`).
  const fusion: MatvecFusion = {
    norm: norm !== undefined,
    epilogue:
      store.kind === 'gated'
        ? { kind: 'gated', activation: store.activation }
        : split === undefined
          ? { kind: 'store' }
          : { kind: 'split', parts: split.widths.length as 2 | 3 },
  };
  const boundary1 = store.kind === 'gated' ? weight.shape[0]! / 2 : (split?.widths[0] ?? 0);
  const params = { epsilon: norm?.epsilon ?? 0, boundary1, boundary2: boundary1 + (split?.widths[1] ?? 0) };
  const buffers = [...(norm === undefined ? [] : [norm.gain]), ...stored];
  const fused = isFused(fusion) || buffers.length > 0 ? { fusion, params, buffers } : undefined;
  return matvecChunks(runtime, { shader, units, rowsPerWorkgroup, inputRows }, tensors, fused);
}
