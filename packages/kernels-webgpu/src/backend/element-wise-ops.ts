import type { ActivationKind, Tensor, WeightTensor } from '@strata/core';
import { binary, unary } from '../kernels/elementwise/elementwise.js';
import { layerNorm, rmsNorm } from '../kernels/normalization/norms.js';
import { softmax } from '../kernels/normalization/softmax.js';
import { WebGpuLinearAlgebraOps } from './linear-algebra-ops.js';

/** The element-wise and normalisation ops of {@link WebGpuBackend}. */
export abstract class WebGpuElementWiseOps extends WebGpuLinearAlgebraOps {
  // ── element-wise and normalisation ────────────────────────────────────────────────────────────────────────────────
  /**
   * {@link Backend.add}, one invocation per element. Throws `SHAPE_MISMATCH` unless `b` has `a`'s shape or is one row
   * (`[columns]` or `[1, columns]`) of it.
   */
  add(a: Tensor, b: Tensor): Tensor {
    return binary(this.runtime, a, b, { kind: 'add' });
  }

  /** {@link Backend.mul}, with the shapes and errors of {@link WebGpuBackend.add}. */
  mul(a: Tensor, b: Tensor): Tensor {
    return binary(this.runtime, a, b, { kind: 'mul' });
  }

  /** {@link Backend.scale}: a new f32 tensor of the input's shape (`factor` is passed as an f32 uniform). */
  scale(input: Tensor, factor: number): Tensor {
    return unary(this.runtime, input, { kind: 'scale', factor });
  }

  /** {@link Backend.activation}: `silu`, `gelu-tanh`, `gelu-erf` or `relu` element-wise, into a new f32 tensor. */
  activation(input: Tensor, kind: ActivationKind): Tensor {
    return unary(this.runtime, input, { kind: 'activation', activation: kind });
  }

  /**
   * {@link Backend.gatedActivation}: `activation(gate) · up` in one kernel. Throws `SHAPE_MISMATCH` unless `gate` and
   * `up` have the same shape (no broadcasting).
   */
  gatedActivation(gate: Tensor, up: Tensor, kind: ActivationKind): Tensor {
    return binary(this.runtime, gate, up, { kind: 'gated', activation: kind });
  }

  /** {@link Backend.softcap}: `cap · tanh(input / cap)` element-wise (Gemma 2 final logits), into a new tensor. */
  softcap(input: Tensor, cap: number): Tensor {
    return unary(this.runtime, input, { kind: 'softcap', cap });
  }

  /**
   * {@link Backend.rmsNorm}, one workgroup per row. Throws `SHAPE_MISMATCH` when the weight is not a float vector of
   * the input's last dimension.
   */
  rmsNorm(input: Tensor, weight: WeightTensor | undefined, epsilon: number): Tensor {
    return rmsNorm(this.runtime, input, weight, epsilon);
  }

  /**
   * {@link Backend.layerNorm}: (x − mean) / √(variance + epsilon) · weight + bias over the last dimension, one
   * workgroup per row. Throws `SHAPE_MISMATCH` when weight or bias is not a float vector of that dimension.
   */
  layerNorm(input: Tensor, weight: WeightTensor | undefined, bias: WeightTensor | undefined, epsilon: number): Tensor {
    return layerNorm(this.runtime, input, weight, bias, epsilon);
  }

  /** {@link Backend.softmax} over the last dimension, one workgroup per row (maximum, then sum of exponentials). */
  softmax(input: Tensor): Tensor {
    return softmax(this.runtime, input);
  }
}
