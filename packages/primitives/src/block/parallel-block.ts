import type { Tensor } from '@strata/core';
import type { AttentionCacheSpec, AttentionStepContext, CausalAttention } from '../attention/causal-attention.js';
import type { FeedForward } from '../feed-forward/feed-forward.js';
import type { Norm } from '../layers/norm.js';
import type { Block } from './transformer-block.js';

/** The parts of a {@link ParallelTransformerBlock}. */
export interface ParallelBlockParts<N extends Norm, F extends FeedForward> {
  /** The one norm both branches read. */
  readonly norm: N;
  /** The attention. */
  readonly attention: CausalAttention;
  /** The feed-forward network. */
  readonly feedForward: F;
}

/** Parallel layer (Phi-2, GPT-J): n = norm(x); out = x + attention(n) + ffn(n). */
export class ParallelTransformerBlock<N extends Norm = Norm, F extends FeedForward = FeedForward> implements Block {
  /** The parts. */
  readonly parts: ParallelBlockParts<N, F>;

  constructor(parts: ParallelBlockParts<N, F>) {
    this.parts = parts;
  }

  /** The layer's attention (from its parts). */
  get attention(): CausalAttention {
    return this.parts.attention;
  }

  /** The attention's cache geometry: what this layer's KV cache must hold. */
  get cacheSpec(): AttentionCacheSpec {
    return this.parts.attention.cacheSpec;
  }

  /** A copy with some parts replaced. */
  with(parts: Partial<ParallelBlockParts<N, F>>): ParallelTransformerBlock<N, F> {
    return new ParallelTransformerBlock({ ...this.parts, ...parts });
  }

  /**
   * `[rows, width]` → `[rows, width]`: one norm feeds both branches, both added to the input; writes the rows' keys and
   * values into the context's cache. The adds are folded into the branches' last projections (x + attention(n) by the
   * attention's output projection, then + ffn(n) by the network's, when it has `forwardFused`): the same sums in the
   * same order.
   */
  forward(hidden: Tensor, context: AttentionStepContext): Tensor {
    const { backend } = context;
    const normed = this.parts.norm.forward(backend, hidden);
    const partial = this.parts.attention.forward(normed, context, { residual: hidden });
    const feedForward = this.parts.feedForward;
    let output: Tensor;
    if (feedForward.forwardFused !== undefined) {
      output = feedForward.forwardFused(backend, normed, { residual: partial });
    } else {
      const fed = feedForward.forward(backend, normed);
      output = backend.add(partial, fed);
      backend.dispose(fed);
    }
    backend.dispose(normed);
    backend.dispose(partial);
    return output;
  }
}
