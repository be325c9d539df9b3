import {
  type Backend,
  createScopedBackend,
  type KeyValuePrecision,
  type ScopedBackend,
  StrataError,
  type StrataErrorCode,
  type Tensor,
} from '@strata/core';
import type { LanguageModel, TransformerModel } from '@strata/models';
import { allocateLayerCaches, disposeLayerCaches, type LayerCaches } from '../cache/layer-caches.js';
import { finishStep, inStepScope, transformAndRelease } from '../generation/local-executor.js';
import type { StageHandler, StageReply, StageRequest, Transport } from './transport.js';

/** Sizes every stage of one pipeline must agree on. */
export interface StageRuntimeOptions {
  /** Tokens the caches hold. */
  readonly contextLength: number;
  /** Most rows per step (sizes the sliding-window ring buffers). */
  readonly chunkSize: number;
  /** Numerics and storage of this stage's KV caches (default `'f32'`; see `RuntimeOptions.cacheType`). */
  readonly cacheType?: KeyValuePrecision;
}

/** A stage after the head: a MIDDLE stage (layers only, forwards to `next`) or the TAIL (layers and lm head). */
export type StageServerOptions = StageRuntimeOptions &
  (
    | { readonly kind: 'middle'; readonly model: TransformerModel; readonly backend: Backend; readonly next: Transport }
    | { readonly kind: 'tail'; readonly model: LanguageModel; readonly backend: Backend }
  );

/**
 * Runs one MIDDLE or TAIL stage: owns the KV caches of its layers, takes hidden states from the previous stage, and
 * either forwards its output to the next stage or (the tail) records the lm head and token choice, replying with the
 * token id (and logits when asked). Serve it over a transport with `inProcessTransport` or `serveStageOnPort`.
 */
export class StageServer implements StageHandler {
  private readonly caches: LayerCaches;
  /** The stage's backend; each step runs in a tensor scope of it. */
  private readonly backend: ScopedBackend;

  constructor(private readonly options: StageServerOptions) {
    this.backend = createScopedBackend(options.backend);
    this.caches = allocateLayerCaches(
      options.backend,
      options.model.cacheSpecs,
      options.contextLength,
      options.chunkSize,
      options.cacheType,
    );
  }

  /**
   * {@link StageHandler.handle}: `describe` answers with the vocabulary size and this stage's cache geometry followed by
   * the downstream stages'; `forward` uploads the hidden states, runs this stage's layers, then reads the result back
   * and forwards it (middle) or records the lm head and token choice (tail); `close` frees the caches (middle: then
   * passes the message on and closes `next`). Never rejects: a failure becomes an `error` reply with the StrataError's
   * code (`TRANSPORT_ERROR` for any other error), which `expectReply` turns back into a StrataError on the head.
   */
  async handle(message: StageRequest): Promise<StageReply> {
    try {
      return await this.dispatch(message);
    } catch (error) {
      return {
        type: 'error',
        code: StrataError.isInstance(error) ? error.code : 'TRANSPORT_ERROR',
        message: error instanceof Error ? error.message : String(error),
      };
    }
  }

  private async dispatch(message: StageRequest): Promise<StageReply> {
    const options = this.options;
    switch (message.type) {
      case 'describe': {
        if (options.kind === 'tail') {
          return { type: 'described', vocabularySize: options.model.vocabularySize, geometry: this.caches.geometry };
        }
        const downstream = expectReply(await options.next.request(message), 'described');
        return { ...downstream, geometry: [...this.caches.geometry, ...downstream.geometry] };
      }
      case 'close': {
        disposeLayerCaches(options.backend, this.caches);
        if (options.kind === 'middle') {
          const reply = await options.next.request(message);
          options.next.close();
          return reply;
        }
        return { type: 'closed' };
      }
      case 'forward': {
        const { model } = options;
        const backend = this.backend;
        if (message.hidden.length !== message.rows * model.hiddenSize) {
          throw new StrataError(
            'SHAPE_MISMATCH',
            `Stage [${model.layerRange.start}, ${model.layerRange.end}) got ${message.hidden.length} values for ${message.rows} rows of width ${model.hiddenSize}; the stages were built from different models.`,
          );
        }
        // This stage's layers on the received hidden states; called inside the step's scope.
        const layers = () =>
          transformAndRelease(backend, backend.upload(message.hidden, [message.rows, model.hiddenSize]), (x) =>
            model.transform(x, { backend, firstPosition: message.firstPosition, caches: this.caches.caches }),
          );
        if (options.kind === 'tail') {
          const lmHead = (last: Tensor) => options.model.lmHead(last);
          const result = await inStepScope(backend, () => finishStep(backend, layers(), lmHead, message));
          return { type: 'forwarded', ...result };
        }
        const output = await inStepScope(backend, async () => (await backend.read(layers())) as Float32Array);
        return options.next.request({ ...message, hidden: output });
      }
    }
  }
}

/** Narrows a reply to the expected type, turning a stage's error reply back into a StrataError. */
export function expectReply<T extends StageReply['type']>(
  reply: StageReply,
  type: T,
): Extract<StageReply, { type: T }> {
  if (reply.type === 'error') {
    throw new StrataError(reply.code as StrataErrorCode, `A pipeline stage failed: ${reply.message}`);
  }
  if (reply.type !== type) {
    throw new StrataError(
      'TRANSPORT_ERROR',
      `A pipeline stage replied '${reply.type}' to a request expecting '${type}'.`,
    );
  }
  return reply as Extract<StageReply, { type: T }>;
}
