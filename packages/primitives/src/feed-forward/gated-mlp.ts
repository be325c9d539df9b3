import { type ActivationKind, type Backend, StrataError, type Tensor } from '@strata/core';
import type { BranchFusion } from '../block/branch-fusion.js';
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
    return this.forwardFused(backend, input, {});
  }

  /**
   * {@link GatedMlp.forward} with the block's input norm and residual folded in: a fused gate/up projection without
   * bias runs as one `rmsNormGatedMatmul` (gate, up and the activation together), separate ones as one
   * `rmsNormMatmul`; the down projection adds the residual (`matmulAdd`).
   */
  forwardFused(backend: Backend, input: Tensor, fusion: BranchFusion): Tensor {
    const projections = this.projections;
    let activated: Tensor;
    if ('gateUp' in projections && projections.gateUp.bias === undefined) {
      activated = backend.rmsNormGatedMatmul(input, fusion.norm, projections.gateUp.weight, this.activation);
    } else {
      const half = 'gateUp' in projections ? projections.gateUp.outputs / 2 : 0;
      const [gate, up] = backend.rmsNormMatmul(
        input,
        fusion.norm,
        'gateUp' in projections
          ? [projections.gateUp.projection([half, half])]
          : [projections.gate.projection(), projections.up.projection()],
      ) as [Tensor, Tensor];
      activated = backend.gatedActivation(gate, up, this.activation);
      backend.dispose(gate);
      backend.dispose(up);
    }
    const output =
      fusion.residual === undefined
        ? this.down.forward(backend, activated)
        : this.down.forwardAdd(backend, activated, fusion.residual);
    backend.dispose(activated);
    return output;
  }
}
