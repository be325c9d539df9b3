import type { Backend, Tensor, WeightTensor } from '@strata/core';

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
}
