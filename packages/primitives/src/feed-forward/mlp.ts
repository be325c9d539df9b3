import type { ActivationKind, Backend, Tensor } from '@strata/core';
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
    const raised = this.up.forward(backend, input);
    const activated = backend.activation(raised, this.activation);
    backend.dispose(raised);
    const output = this.down.forward(backend, activated);
    backend.dispose(activated);
    return output;
  }
}
