import type { CacheGeometry } from '../cache/layer-caches.js';
import type { TokenChoice } from '../sampling/token-sampler.js';

/** A message from one stage to the next. Plain data: it survives structured cloning (workers, `MessagePort`). */
export type StageRequest =
  /** Asks the downstream stages for their cache geometry and the vocabulary size. */
  | { readonly type: 'describe' }
  /** Hidden states `[rows, hiddenSize]` of positions `firstPosition …`, row-major. */
  | {
      readonly type: 'forward';
      readonly firstPosition: number;
      readonly rows: number;
      readonly hidden: Float32Array;
      /** Set on steps that choose a token (the tail records it on its device). */
      readonly choice?: TokenChoice;
      /** Set when the tail must send the last row's logits back. */
      readonly returnLogits?: boolean;
    }
  /** Releases the downstream stages' caches. */
  | { readonly type: 'close' };

/** A stage's answer, travelling back towards the head. */
export type StageReply =
  | {
      readonly type: 'described';
      readonly vocabularySize: number;
      /** Cache geometry of every layer from this stage to the tail, in order. */
      readonly geometry: readonly CacheGeometry[];
    }
  | { readonly type: 'forwarded'; readonly token?: number; readonly logits?: Float32Array }
  | { readonly type: 'closed' }
  | { readonly type: 'error'; readonly code: string; readonly message: string };

/**
 * Moves activations and positions from one pipeline stage to the next, and the answer back. Implementations:
 * {@link inProcessTransport} (same thread), `messagePortTransport` (worker_threads in Node, workers in browsers), or
 * any request/response channel (a socket) that preserves message order.
 */
export interface Transport {
  /** Sends a request to the next stage and resolves with its reply (requests are answered in order). */
  request(message: StageRequest): Promise<StageReply>;
  /** Closes the channel (the next stage stays alive unless it was sent `close`). */
  close(): void;
}

/** Something that answers stage requests: a `StageServer`. */
export interface StageHandler {
  /**
   * Answers one request (`serveStageOnPort` calls it one message at a time, in arrival order). Failures should come
   * back as an `error` reply (`code`: a StrataError code) rather than a rejection, so they cross worker boundaries
   * intact and `expectReply` can rethrow them on the head.
   */
  handle(message: StageRequest): Promise<StageReply>;
}

/**
 * A transport to a stage in the same thread. Messages are structured-cloned, as they would be across a worker
 * boundary, so a stage can never share tensors or buffers with its caller by accident.
 */
export function inProcessTransport(handler: StageHandler): Transport {
  return {
    request: async (message) => structuredClone(await handler.handle(structuredClone(message))),
    close() {},
  };
}
