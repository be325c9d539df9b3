import type {
  ExpertRouting,
  ExpertRoutingOptions,
  PoolSequencesOptions,
  SamplingParameters,
  SelfAttentionOptions,
  Tensor,
} from '@strata/core';
import { l2Normalize, poolSequences, selfAttention } from '../kernels/encoder/index.js';
import { combineExperts, routeExperts } from '../kernels/routing/experts.js';
import { argmax } from '../kernels/sampling/argmax.js';
import { sampleToken } from '../kernels/sampling/sample-token.js';
import { WebGpuAttentionOps } from './attention-ops.js';

/**
 * The sequence-encoder, expert-routing and sampling ops of {@link WebGpuBackend}: bidirectional self-attention,
 * pooling and L2 normalisation (embedding models), mixture-of-experts routing, argmax and token sampling.
 */
export abstract class WebGpuEncoderRoutingSamplingOps extends WebGpuAttentionOps {
  // ── sequence encoders (src/kernels/encoder) ───────────────────────────────────────────────────────────────────────
  /** {@link Backend.selfAttention}: one workgroup per (row, head), two passes over the sequence's keys. */
  selfAttention(queries: Tensor, keys: Tensor, values: Tensor, options: SelfAttentionOptions): Tensor {
    return selfAttention(this.runtime, queries, keys, values, options);
  }

  /** {@link Backend.poolSequences}: one invocation per output element. */
  poolSequences(hidden: Tensor, options: PoolSequencesOptions): Tensor {
    return poolSequences(this.runtime, hidden, options);
  }

  /** {@link Backend.l2Normalize}: one workgroup per row. */
  l2Normalize(input: Tensor, epsilon: number): Tensor {
    return l2Normalize(this.runtime, input, epsilon);
  }

  // ── routing and sampling ──────────────────────────────────────────────────────────────────────────────────────────
  /**
   * {@link Backend.routeExperts}, one invocation per row. Throws `SHAPE_MISMATCH` unless the logits are 2-D and
   * `topK` is an integer in `[1, experts]`.
   */
  routeExperts(logits: Tensor, options: ExpertRoutingOptions): ExpertRouting {
    return routeExperts(this.runtime, logits, options);
  }

  /**
   * {@link Backend.combineExperts}: f32 `[rows, columns]`. Throws `SHAPE_MISMATCH` unless `slots` is `[rows · topK,
   * columns]` for `weights` `[rows, topK]`.
   */
  combineExperts(slots: Tensor, weights: Tensor): Tensor {
    return combineExperts(this.runtime, slots, weights);
  }

  /** {@link Backend.argmax}: one workgroup per row, or per slice of a long row. Throws `SHAPE_MISMATCH` when the rows are empty. */
  argmax(input: Tensor): Tensor {
    return argmax(this.runtime, input);
  }

  /**
   * {@link Backend.sampleToken} on the device: only the chosen id (i32 `[1]`) needs reading back. The parameters are
   * checked on the host first, as the CPU backend does: `INVALID_SAMPLING_OPTIONS` for out-of-range values or
   * mismatched list lengths, `TOKEN_OUT_OF_RANGE` for a penalised or biased id outside the vocabulary;
   * `SHAPE_MISMATCH` when there is no row to sample.
   */
  sampleToken(logits: Tensor, parameters: SamplingParameters): Tensor {
    return sampleToken(this.runtime, logits, parameters);
  }
}
