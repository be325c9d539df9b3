import { type ActivationKind, type Backend, StrataError, type Tensor } from '@strata/core';
import type { Linear } from '../layers/linear.js';
import type { FeedForward } from './feed-forward.js';

/** Separate gate and up projections `[intermediate, width]`. */
export interface SeparateGateUp {
  /** Gate projection. */
  readonly gate: Linear;
  /** Up projection. */
  readonly up: Linear;
}

/** One fused projection whose output columns are [gate | up] (Phi-3). */
export interface FusedGateUp {
  /** `[2 · intermediate, width]`. */
  readonly gateUp: Linear;
}

/** Gated MLP: down(activation(gate(x)) · up(x)) — SwiGLU with `silu`, GeGLU with a GELU. */
export class GatedMlp implements FeedForward {
  /** Gate and up projections, separate or fused. */
  readonly projections: SeparateGateUp | FusedGateUp;
  /** Down projection `[width, intermediate]`. */
  readonly down: Linear;
  /** Activation applied to the gate. */
  readonly activation: ActivationKind;

  constructor(projections: SeparateGateUp | FusedGateUp, down: Linear, activation: ActivationKind) {
    if ('gateUp' in projections && projections.gateUp.outputs % 2 !== 0) {
      throw new StrataError(
        'SHAPE_MISMATCH',
        `A fused gate/up projection needs an even number of outputs; got ${projections.gateUp.outputs}.`,
        {
          details: { outputs: projections.gateUp.outputs },
        },
      );
    }
    this.projections = projections;
    this.down = down;
    this.activation = activation;
  }

  /** `[rows, width]` → `[rows, width]`; a fused projection is split into its gate and up halves first. */
  forward(backend: Backend, input: Tensor): Tensor {
    let gate: Tensor;
    let up: Tensor;
    if ('gateUp' in this.projections) {
      const fused = this.projections.gateUp.forward(backend, input);
      const half = this.projections.gateUp.outputs / 2;
      [gate, up] = backend.splitColumns(fused, [half, half]) as [Tensor, Tensor];
      backend.dispose(fused);
    } else {
      gate = this.projections.gate.forward(backend, input);
      up = this.projections.up.forward(backend, input);
    }
    const activated = backend.gatedActivation(gate, up, this.activation);
    backend.dispose(gate);
    backend.dispose(up);
    const output = this.down.forward(backend, activated);
    backend.dispose(activated);
    return output;
  }
}
