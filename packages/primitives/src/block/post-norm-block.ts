import type { Backend, Tensor } from '@strata/core';
import type { CausalAttention, SequenceAttentionContext } from '../attention/causal-attention.js';
import type { FeedForward } from '../feed-forward/feed-forward.js';
import type { Norm } from '../layers/norm.js';
import type { SequenceBlock } from './transformer-block.js';

/** The parts of a {@link PostNormBlock}. */
export interface PostNormBlockParts<N extends Norm, F extends FeedForward> {
  /** The attention (BERT: built without its causal mask). */
  readonly attention: CausalAttention;
  /** Norm of the attention residual sum. */
  readonly attentionNorm: N;
  /** The feed-forward network. */
  readonly feedForward: F;
  /** Norm of the feed-forward residual sum. */
  readonly feedForwardNorm: N;
}

/**
 * Post-norm transformer layer (BERT, the original Transformer): h = norm(x + attention(x)); out = norm(h + ffn(h)).
 * Runs whole padded sequences (no cache).
 */
export class PostNormBlock<N extends Norm = Norm, F extends FeedForward = FeedForward> implements SequenceBlock {
  /** The parts. */
  readonly parts: PostNormBlockParts<N, F>;

  constructor(parts: PostNormBlockParts<N, F>) {
    this.parts = parts;
  }

  /** `[rows, width]` → `[rows, width]` for a position-major padded batch. */
  forwardSequences(hidden: Tensor, context: SequenceAttentionContext): Tensor {
    const { backend } = context;
    const parts = this.parts;
    const attended = normedResidual(
      backend,
      hidden,
      parts.attention.forwardSequences(hidden, context),
      parts.attentionNorm,
    );
    const output = normedResidual(
      backend,
      attended,
      parts.feedForward.forward(backend, attended),
      parts.feedForwardNorm,
    );
    backend.dispose(attended);
    return output;
  }
}

/** norm(input + branch), disposing the branch and the sum. */
function normedResidual(backend: Backend, input: Tensor, branch: Tensor, norm: Norm): Tensor {
  const sum = backend.add(input, branch);
  backend.dispose(branch);
  const normed = norm.forward(backend, sum);
  backend.dispose(sum);
  return normed;
}
