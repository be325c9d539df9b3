import type { Backend, Tensor } from '@strata/core';

/**
 * How a sentence vector is made from a sequence's hidden states: the mean over its real tokens, its first token (BERT's
 * `[CLS]`) or its last real token (decoder embedding models such as Qwen3-Embedding).
 */
export type PoolingMode = 'mean' | 'cls' | 'last';

/** Pooling of a position-major padded batch `[rows, width]` → `[sequences, width]`. */
export class Pooling {
  /** The reduction. */
  readonly mode: PoolingMode;

  constructor(mode: PoolingMode) {
    this.mode = mode;
  }

  /** One row per sequence, `lengths[s]` real tokens in sequence s. */
  forward(backend: Backend, hidden: Tensor, lengths: readonly number[]): Tensor {
    const pooling = this.mode === 'cls' ? 'first' : this.mode;
    return backend.poolSequences(hidden, { lengths, pooling });
  }
}

/** Scales each row to unit Euclidean length (the norm floored at `epsilon`, as sentence-transformers' Normalize). */
export class L2Normalization {
  /** Floor of the norm. */
  readonly epsilon: number;

  constructor(epsilon = 1e-12) {
    this.epsilon = epsilon;
  }

  /** `[rows, width]` → `[rows, width]`. */
  forward(backend: Backend, input: Tensor): Tensor {
    return backend.l2Normalize(input, this.epsilon);
  }
}
