import type { ActivationKind, InputNorm, Projection, Tensor, WeightTensor } from '@strata/core';
import { embedding } from '../kernels/embedding/index.js';
import { matmulAdd, rmsNormGatedMatmul, rmsNormMatmul } from '../kernels/matmul/fused-matvec.js';
import { matmul, matmulExperts } from '../kernels/matmul/index.js';
import { WebGpuMemoryOps } from './memory-ops.js';

/** The linear-algebra ops of {@link WebGpuBackend}: embedding lookups, mat-muls and the fused projections. */
export abstract class WebGpuLinearAlgebraOps extends WebGpuMemoryOps {
  // ── linear algebra (src/kernels/matmul, src/kernels/embedding) ─────────────────────────────────────────────────────
  /**
   * {@link Backend.embedding}: dequantizes the rows of a `[vocabulary, width]` table of any supported weight type;
   * ids outside the vocabulary give zero rows. Throws `SHAPE_MISMATCH` for a table that is not 2-D, `DTYPE_MISMATCH`
   * when `ids` is not i32, `UNSUPPORTED_TENSOR_TYPE` for a type the kernels cannot read.
   */
  embedding(table: WeightTensor, ids: Tensor, scale = 1): Tensor {
    return embedding(this.runtime, table, ids, scale);
  }

  /**
   * {@link Backend.matmul}, dequantizing the weight inside the kernel; leading input dimensions are flattened into
   * rows. One row (decode) runs the one-row mat-vec, up to `MAX_MATVEC_ROWS` rows the mat-vec, up to 32 rows (a batched
   * decode step, `tuning.batchMatvec`) the mat-vec as row groups, more the tiled mat-mul (128 × 64 tiles, or int8
   * activations with `tuning.int8Prefill`); chunked weights take one dispatch per chunk. Throws `SHAPE_MISMATCH` when the weight is not `[out,
   * columns]`, the input's last dimension is not `columns` or the bias is not a float vector `[out]`;
   * `UNSUPPORTED_TENSOR_TYPE` for a weight type the kernels cannot read.
   */
  matmul(input: Tensor, weight: WeightTensor, bias?: WeightTensor): Tensor {
    return matmul(this.runtime, input, weight, bias);
  }

  /**
   * {@link Backend.rmsNormMatmul}. One input row: one dispatch per projection, the decode mat-vec computing the row's
   * RMS norm itself and storing up to three output parts; more rows: `rmsNorm`, one `matmul` per projection and a copy
   * per part. Throws `SHAPE_MISMATCH` when a weight does not match the input, the widths do not add up to its rows, or
   * a bias or the norm weight is not a float vector of the right length.
   */
  rmsNormMatmul(input: Tensor, norm: InputNorm | undefined, projections: readonly Projection[]): Tensor[] {
    return rmsNormMatmul(this.runtime, input, norm, projections);
  }

  /**
   * {@link Backend.rmsNormGatedMatmul}. One input row and a weight in one chunk: one dispatch, each workgroup computing
   * gate and up rows of the same indices; otherwise the unfused ops. Throws `SHAPE_MISMATCH` for a weight of an odd
   * number of rows or one that does not match the input.
   */
  rmsNormGatedMatmul(input: Tensor, norm: InputNorm | undefined, weight: WeightTensor, kind: ActivationKind): Tensor {
    return rmsNormGatedMatmul(this.runtime, input, norm, weight, kind);
  }

  /**
   * {@link Backend.matmulAdd}. One input row: the residual is added in the mat-vec's store (one dispatch per weight
   * chunk); more rows: `matmul`, then `add`. Throws `SHAPE_MISMATCH` when the residual's shape is not the product's.
   */
  matmulAdd(input: Tensor, weight: WeightTensor, residual: Tensor, bias?: WeightTensor): Tensor {
    return matmulAdd(this.runtime, input, weight, residual, bias);
  }

  /**
   * {@link Backend.matmulExperts}: the mat-vec kernel in expert mode, each slot reading the rows of its expert from
   * the `[experts, out, columns]` stack. Throws `SHAPE_MISMATCH` when the weight is not 3-D, `experts` is not i32
   * `[rows, topK]` or the input has neither `rows` nor `rows · topK` rows of `columns`.
   */
  matmulExperts(input: Tensor, weight: WeightTensor, experts: Tensor): Tensor {
    return matmulExperts(this.runtime, input, weight, experts);
  }
}
