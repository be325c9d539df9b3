import type { Backend, Tensor } from '@strata/core';
import type { BranchFusion } from '../block/branch-fusion.js';

/** A position-wise feed-forward network: `[rows, width]` → `[rows, width]`. */
export interface FeedForward {
  /** Computes the network on every row. */
  forward(backend: Backend, input: Tensor): Tensor;
  /**
   * The network with its block's input norm and residual add folded in (see {@link BranchFusion}): `forward` of the
   * normalised input, plus the residual, in fewer ops. Networks without it run through `forward`.
   */
  forwardFused?(backend: Backend, input: Tensor, fusion: BranchFusion): Tensor;
}
