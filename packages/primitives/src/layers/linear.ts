import type { Backend, Projection, Tensor, WeightTensor } from '@strata/core';

/** A projection `input · weightᵀ + bias`, weight `[out, in]` in any weight format. */
export class Linear {
  /** Weight `[outputs, inputs]`. */
  readonly weight: WeightTensor;
  /** Optional bias `[outputs]`. */
  readonly bias: WeightTensor | undefined;

  constructor(weight: WeightTensor, bias?: WeightTensor) {
    this.weight = weight;
    this.bias = bias;
  }

  /** Output width (rows of the weight). */
  get outputs(): number {
    return this.weight.shape[0] as number;
  }

  /** `[rows, inputs]` → `[rows, outputs]`. */
  forward(backend: Backend, input: Tensor): Tensor {
    return backend.matmul(input, this.weight, this.bias);
  }

  /** `residual + forward(input)` in one op (`Backend.matmulAdd`): the residual add folded into the projection. */
  forwardAdd(backend: Backend, input: Tensor, residual: Tensor): Tensor {
    return backend.matmulAdd(input, this.weight, residual, this.bias);
  }

  /** This projection as one of `Backend.rmsNormMatmul`'s, its outputs split into `widths` when given. */
  projection(widths?: readonly number[]): Projection {
    return {
      weight: this.weight,
      ...(this.bias === undefined ? {} : { bias: this.bias }),
      ...(widths === undefined ? {} : { widths }),
    };
  }
}
