import type { Backend, Tensor, WeightTensor } from '@strata/core';

/** A normalisation over the last dimension. */
export interface Norm {
  /** `[rows, width]` → `[rows, width]`. */
  forward(backend: Backend, input: Tensor): Tensor;
}

/** RMSNorm: x / √(mean(x²) + ε) · weight. Gemma's (1 + w) is folded into the weight at load time. */
export class RmsNorm implements Norm {
  /** Scale `[width]`; undefined for none. */
  readonly weight: WeightTensor | undefined;
  /** ε inside the square root. */
  readonly epsilon: number;

  constructor(weight: WeightTensor | undefined, epsilon: number) {
    this.weight = weight;
    this.epsilon = epsilon;
  }

  /** `[rows, width]` → `[rows, width]` through the backend's `rmsNorm`. */
  forward(backend: Backend, input: Tensor): Tensor {
    return backend.rmsNorm(input, this.weight, this.epsilon);
  }
}

/** LayerNorm with optional weight and bias. */
export class LayerNorm implements Norm {
  /** Scale `[width]`, optional. */
  readonly weight: WeightTensor | undefined;
  /** Shift `[width]`, optional. */
  readonly bias: WeightTensor | undefined;
  /** ε added to the variance. */
  readonly epsilon: number;

  constructor(weight: WeightTensor | undefined, bias: WeightTensor | undefined, epsilon: number) {
    this.weight = weight;
    this.bias = bias;
    this.epsilon = epsilon;
  }

  /** `[rows, width]` → `[rows, width]` through the backend's `layerNorm`. */
  forward(backend: Backend, input: Tensor): Tensor {
    return backend.layerNorm(input, this.weight, this.bias, this.epsilon);
  }
}
