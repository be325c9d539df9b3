import { type Backend, createScopedBackend, type ScopedBackend } from '@strata/core';
import type { EmbeddingModel, TransformerModel } from '@strata/models';
import {
  allocateLayerCaches,
  type CacheGeometry,
  disposeLayerCaches,
  type LayerCaches,
} from '../cache/layer-caches.js';
import type { ForwardRequest, ForwardResult, ModelExecutor } from '../generation/executor.js';
import { inStepScope, transformAndRelease } from '../generation/local-executor.js';
import { expectReply, type StageRuntimeOptions } from './stage-server.js';
import type { Transport } from './transport.js';

/** Options of {@link createStagedExecutor}: the HEAD stage (embedding and the first layers) and the way onward. */
export interface StagedExecutorOptions extends StageRuntimeOptions {
  /** The head's model: embedding plus layers `[0, k)`. */
  readonly model: EmbeddingModel & TransformerModel;
  /** The backend the head's weights live on. */
  readonly backend: Backend;
  /** Transport to the next stage (a MIDDLE or the TAIL `StageServer`). */
  readonly next: Transport;
}

/**
 * The HEAD stage as a {@link ModelExecutor}: embeds ids, runs its layers, sends the hidden states (and positions) down
 * the chain, and gets the tail's token (or logits) back. `TextPipeline.fromExecutor` turns it into a pipeline.
 */
export async function createStagedExecutor(options: StagedExecutorOptions): Promise<ModelExecutor> {
  const described = expectReply(await options.next.request({ type: 'describe' }), 'described');
  const caches = allocateLayerCaches(
    options.backend,
    options.model.cacheSpecs,
    options.contextLength,
    options.chunkSize,
    options.cacheType,
  );
  return new StagedExecutor(options, caches, described.vocabularySize, [...caches.geometry, ...described.geometry]);
}

class StagedExecutor implements ModelExecutor {
  readonly contextLength: number;
  readonly chunkSize: number;
  /** The head's backend; each step runs in a tensor scope of it. */
  private readonly backend: ScopedBackend;

  constructor(
    private readonly options: StagedExecutorOptions,
    private readonly caches: LayerCaches,
    readonly vocabularySize: number,
    readonly cacheGeometry: readonly CacheGeometry[],
  ) {
    this.contextLength = options.contextLength;
    this.chunkSize = options.chunkSize;
    this.backend = createScopedBackend(options.backend);
  }

  async forward(request: ForwardRequest): Promise<ForwardResult> {
    const { model, next } = this.options;
    const backend = this.backend;
    const values = await inStepScope(backend, async () => {
      const ids = backend.upload(request.ids, [request.ids.length]);
      const embedded = model.embed(ids);
      backend.dispose(ids);
      const hidden = transformAndRelease(backend, embedded, (x) =>
        model.transform(x, { backend, firstPosition: request.firstPosition, caches: this.caches.caches }),
      );
      return (await backend.read(hidden)) as Float32Array;
    });
    const reply = expectReply(
      await next.request({
        type: 'forward',
        firstPosition: request.firstPosition,
        rows: request.ids.length,
        hidden: values,
        ...(request.choice === undefined ? {} : { choice: await request.choice }),
        ...(request.returnLogits === true ? { returnLogits: true } : {}),
      }),
      'forwarded',
    );
    return {
      ...(reply.token === undefined ? {} : { token: reply.token }),
      ...(reply.logits === undefined ? {} : { logits: reply.logits }),
    };
  }

  async dispose(): Promise<void> {
    disposeLayerCaches(this.options.backend, this.caches);
    try {
      expectReply(await this.options.next.request({ type: 'close' }), 'closed');
    } finally {
      this.options.next.close();
    }
  }
}
