import type { ActivationKind, Backend, Tensor } from '@strata/core';
import type { BranchFusion } from '../block/branch-fusion.js';
import type { Linear } from '../layers/linear.js';
import type { FeedForward } from './feed-forward.js';

/** Plain MLP: down(activation(up(x))), biases carried by the projections (Phi-2, StarCoder2). */
export class Mlp implements FeedForward {
  /** Up projection `[intermediate, width]`. */
  readonly up: Linear;
  /** Down projection `[width, intermediate]`. */
  readonly down: Linear;
  /** Activation between them. */
  readonly activation: ActivationKind;

  constructor(up: Linear, down: Linear, activation: ActivationKind) {
    this.up = up;
    this.down = down;
    this.activation = activation;
  }

  /** `[rows, width]` → `[rows, width]`: up projection, activation, down projection. */
  forward(backend: Backend, input: Tensor): Tensor {
    return this.forwardFused(backend, input, {});
  }

  /** {@link Mlp.forward} with the block's input norm folded into the up projection and the residual into the down one. */
  forwardFused(backend: Backend, input: Tensor, fusion: BranchFusion): Tensor {
    const raised =
      fusion.norm === undefined
        ? this.up.forward(backend, input)
        : (backend.rmsNormMatmul(input, fusion.norm, [this.up.projection()])[0] as Tensor);
    const activated = backend.activation(raised, this.activation);
    backend.dispose(raised);
    const output =
      fusion.residual === undefined
        ? this.down.forward(backend, activated)
        : this.down.forwardAdd(backend, activated, fusion.residual);
    backend.dispose(activated);
    return output;
  }
}
