import { type ActivationKind, type Backend, StrataError, type Tensor, type WeightTensor } from '@strata/core';
import type { Linear } from '../layers/linear.js';
import type { FeedForward } from './feed-forward.js';

/** The expert stacks of a mixture of experts: gated FFNs, one slice per expert. */
export interface ExpertWeights {
  /** Gate projections `[experts, intermediate, width]`. */
  readonly gate: WeightTensor;
  /** Up projections `[experts, intermediate, width]`. */
  readonly up: WeightTensor;
  /** Down projections `[experts, width, intermediate]`. */
  readonly down: WeightTensor;
}

/** How tokens are routed. */
export interface ExpertRoutingSettings {
  /** Experts chosen per token. */
  readonly topK: number;
  /** Renormalise the chosen experts' probabilities to sum to 1 (Mixtral; Qwen3-MoE with norm_topk_prob). */
  readonly normalize: boolean;
  /** Activation of the experts' gate. */
  readonly activation: ActivationKind;
}

/**
 * Mixture of experts: a router picks `topK` experts per token (softmax, then top-k), each runs a gated FFN, and the
 * results are summed weighted by the router probabilities.
 */
export class MoE implements FeedForward {
  /** Router `[experts, width]`. */
  readonly router: Linear;
  /** Expert stacks. */
  readonly experts: ExpertWeights;
  /** Routing settings. */
  readonly routing: ExpertRoutingSettings;

  constructor(router: Linear, experts: ExpertWeights, routing: ExpertRoutingSettings) {
    const count = router.outputs;
    for (const [name, weight] of Object.entries(experts) as [string, WeightTensor][]) {
      if (weight.shape.length !== 3 || weight.shape[0] !== count) {
        throw new StrataError(
          'SHAPE_MISMATCH',
          `Expert stack '${name}' has shape [${weight.shape.join(', ')}]; expected [${count}, rows, columns].`,
          {
            details: { name, shape: weight.shape, experts: count },
          },
        );
      }
    }
    if (!Number.isInteger(routing.topK) || routing.topK < 1 || routing.topK > count) {
      throw new StrataError('INVALID_CONFIG', `Experts per token must be within 1 … ${count}; got ${routing.topK}.`, {
        details: { topK: routing.topK, experts: count },
      });
    }
    this.router = router;
    this.experts = experts;
    this.routing = routing;
  }

  /** `[rows, width]` → `[rows, width]`: routes each row to `topK` experts, runs their gated FFNs and sums the results by routing weight. */
  forward(backend: Backend, input: Tensor): Tensor {
    const logits = this.router.forward(backend, input); // [rows, experts]
    const { experts, weights } = backend.routeExperts(logits, {
      topK: this.routing.topK,
      normalize: this.routing.normalize,
    });
    backend.dispose(logits);
    const gate = backend.matmulExperts(input, this.experts.gate, experts); // [rows · topK, intermediate]
    const up = backend.matmulExperts(input, this.experts.up, experts);
    const activated = backend.gatedActivation(gate, up, this.routing.activation);
    backend.dispose(gate);
    backend.dispose(up);
    const slots = backend.matmulExperts(activated, this.experts.down, experts); // [rows · topK, width]
    backend.dispose(activated);
    const output = backend.combineExperts(slots, weights); // [rows, width]
    backend.dispose(slots);
    backend.dispose(experts);
    backend.dispose(weights);
    return output;
  }
}
