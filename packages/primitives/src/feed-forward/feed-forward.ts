import type { Backend, Tensor } from '@strata/core';

/** A position-wise feed-forward network: `[rows, width]` → `[rows, width]`. */
export interface FeedForward {
  /** Computes the network on every row. */
  forward(backend: Backend, input: Tensor): Tensor;
}
