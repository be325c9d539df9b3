import type { Backend, Tensor } from '@strata/core';
import type {
  AttentionCacheSpec,
  AttentionStepContext,
  CausalAttention,
  SequenceAttentionContext,
} from '../attention/causal-attention.js';
import type { FeedForward } from '../feed-forward/feed-forward.js';
import { type Norm, RmsNorm } from '../layers/norm.js';
import type { BranchFusion } from './branch-fusion.js';

/**
 * One transformer layer: hidden states in, hidden states out, through the cache in its context (one sequence's
 * contiguous cache, or the paged pool of a batch of sequences: every op but the attention is row-wise).
 */
export interface Block {
  /** The layer's attention (its cache geometry). */
  readonly attention: CausalAttention;
  /** What this layer's cache must hold. */
  readonly cacheSpec: AttentionCacheSpec;
  /** `[rows, width]` → `[rows, width]`. */
  forward(hidden: Tensor, context: AttentionStepContext): Tensor;
}

/** A layer that runs whole padded sequences without a cache (embedding models). */
export interface SequenceBlock {
  /** `[rows, width]` → `[rows, width]` for a position-major padded batch. */
  forwardSequences(hidden: Tensor, context: SequenceAttentionContext): Tensor;
}

/** The parts of a {@link TransformerBlock}. */
export interface TransformerBlockParts<N extends Norm, F extends FeedForward> {
  /** Norm before attention. */
  readonly attentionNorm: N;
  /** The attention. */
  readonly attention: CausalAttention;
  /** Norm of the attention output before the residual add (Gemma 2/3), optional. */
  readonly postAttentionNorm?: N;
  /** Norm before the feed-forward network. */
  readonly feedForwardNorm: N;
  /** The feed-forward network. */
  readonly feedForward: F;
  /** Norm of the feed-forward output before the residual add (Gemma 2/3), optional. */
  readonly postFeedForwardNorm?: N;
}

/**
 * Pre-norm transformer layer: h = x + [postNorm](attention(norm(x))); out = h + [postNorm](ffn(norm(h))).
 */
export class TransformerBlock<N extends Norm = Norm, F extends FeedForward = FeedForward>
  implements Block, SequenceBlock
{
  /** The parts. */
  readonly parts: TransformerBlockParts<N, F>;

  constructor(parts: TransformerBlockParts<N, F>) {
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

  /** A copy with some parts replaced (what a family's customizer uses). */
  with(parts: Partial<TransformerBlockParts<N, F>>): TransformerBlock<N, F> {
    return new TransformerBlock({ ...this.parts, ...parts });
  }

  /**
   * `[rows, width]` → `[rows, width]`: the attention then the feed-forward residual branch; writes the rows' keys and
   * values into the context's cache. Each branch folds what is exact into its projections (see {@link BranchFusion}):
   * an RMSNorm input norm into its first projections, the residual add (without a post-norm) into its last.
   */
  forward(hidden: Tensor, context: AttentionStepContext): Tensor {
    const { backend } = context;
    const parts = this.parts;
    const attended = fusedResidualBranch(
      backend,
      hidden,
      parts.attentionNorm,
      parts.postAttentionNorm,
      (input, fusion) => parts.attention.forward(input, context, fusion),
    );
    const feedForward = parts.feedForward;
    const output =
      feedForward.forwardFused === undefined
        ? residualBranch(
            backend,
            attended,
            parts.feedForwardNorm,
            (normed) => feedForward.forward(backend, normed),
            parts.postFeedForwardNorm,
          )
        : fusedResidualBranch(backend, attended, parts.feedForwardNorm, parts.postFeedForwardNorm, (input, fusion) =>
            feedForward.forwardFused!(backend, input, fusion),
          );
    backend.dispose(attended);
    return output;
  }

  /** The same layer over a padded batch of whole sequences, without a cache (decoder-based embedding models). */
  forwardSequences(hidden: Tensor, context: SequenceAttentionContext): Tensor {
    return this.#forwardWith(context.backend, hidden, (normed) =>
      this.parts.attention.forwardSequences(normed, context),
    );
  }

  #forwardWith(backend: Backend, hidden: Tensor, attend: (normed: Tensor) => Tensor): Tensor {
    const parts = this.parts;
    const attended = residualBranch(backend, hidden, parts.attentionNorm, attend, parts.postAttentionNorm);
    const output = residualBranch(
      backend,
      attended,
      parts.feedForwardNorm,
      (normed) => parts.feedForward.forward(backend, normed),
      parts.postFeedForwardNorm,
    );
    backend.dispose(attended);
    return output;
  }
}

/**
 * x + [post](branch(norm(x))) with the norm (an RMSNorm) and the residual add (no post-norm) handed to the branch to fold
 * into its projections; what cannot fold runs as its own op. Disposes intermediates.
 */
function fusedResidualBranch(
  backend: Backend,
  input: Tensor,
  norm: Norm,
  post: Norm | undefined,
  branch: (input: Tensor, fusion: BranchFusion) => Tensor,
): Tensor {
  const foldNorm = norm instanceof RmsNorm;
  const branchInput = foldNorm ? input : norm.forward(backend, input);
  const fusion: BranchFusion = {
    ...(foldNorm ? { norm: { weight: norm.weight, epsilon: norm.epsilon } } : {}),
    ...(post === undefined ? { residual: input } : {}),
  };
  const result = branch(branchInput, fusion);
  if (branchInput !== input) backend.dispose(branchInput);
  if (post === undefined) return result;
  const posted = post.forward(backend, result);
  backend.dispose(result);
  const sum = backend.add(input, posted);
  backend.dispose(posted);
  return sum;
}

/** x + [post](branch(norm(x))), disposing intermediates. */
function residualBranch(
  backend: Backend,
  input: Tensor,
  norm: Norm,
  branch: (normed: Tensor) => Tensor,
  post: Norm | undefined,
): Tensor {
  const normed = norm.forward(backend, input);
  let result = branch(normed);
  backend.dispose(normed);
  if (post !== undefined) {
    const posted = post.forward(backend, result);
    backend.dispose(result);
    result = posted;
  }
  const sum = backend.add(input, result);
  backend.dispose(result);
  return sum;
}
