import type { TokenChoice } from '../sampling/token-sampler.js';
import type { CacheGeometry } from '../cache/layer-caches.js';

/** One forward step over the model: tokens at consecutive positions, and what to bring back. */
export interface ForwardRequest {
  /** Token ids of this step (a prefill chunk, or the one token of a decode step). */
  readonly ids: Int32Array;
  /** Position of the first id; the caches hold positions before it. */
  readonly firstPosition: number;
  /**
   * When set, the device picks a token from the last row's logits and only its id is read back. A promise (a grammar's
   * token mask still being computed) lets the step start on the device first: the choice is awaited only once the
   * step's work is recorded, so the CPU computes the mask while the GPU runs the layers.
   */
  readonly choice?: TokenChoice | PromiseLike<TokenChoice>;
  /** When true, the last row's logits are read back too (costs a vocabulary-sized read). */
  readonly returnLogits?: boolean;
}

/** What a forward step brings back. */
export interface ForwardResult {
  /** The chosen token, when the request had a `choice`. */
  readonly token?: number;
  /** Logits of the last row, when `returnLogits` was set. */
  readonly logits?: Float32Array;
}

/**
 * Runs forward steps of a whole model, on one device or spread over stages. The pipeline drives generation through it
 * and so does not care where the layers are.
 */
export interface ModelExecutor {
  /** Logit columns. */
  readonly vocabularySize: number;
  /** Tokens the caches hold at most. */
  readonly contextLength: number;
  /** Most ids one step may carry (the prefill chunk size the ring buffers were sized for). */
  readonly chunkSize: number;
  /** Cache geometry of every layer, across stages (decides whether a cached prefix can be resumed). */
  readonly cacheGeometry: readonly CacheGeometry[];
  /** Runs one step; with neither `choice` nor `returnLogits` only the caches are filled (no lm head). */
  forward(request: ForwardRequest): Promise<ForwardResult>;
  /** Releases the caches (and, for stages, closes the transports). */
  dispose(): Promise<void>;
}
