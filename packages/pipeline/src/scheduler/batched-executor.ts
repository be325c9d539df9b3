import {
  type Backend,
  createPagedBatch,
  createScopedBackend,
  type KeyValuePrecision,
  type ScopedBackend,
  StrataError,
} from '@strata/core';
import type { CompleteModel, PagedTransformerModel } from '@strata/models';
import { PagedKeyValuePool, type PagedPoolShape } from '../cache/paged-pool.js';
import { inStepScope, transformAndRelease } from '../generation/local-executor.js';
import { readBatchedResults } from './batched-results.js';
import type { PageSharingExecutor, StepRow, StepRowResult } from './step-executor.js';

/** A whole model that also runs paged batches (every model of the transformer builder). */
export type BatchableModel = CompleteModel & PagedTransformerModel;

/** Options of {@link BatchedStepExecutor}. */
export interface BatchedStepExecutorOptions {
  /** Tokens one sequence may hold. */
  readonly contextLength: number;
  /** Most ids per row. */
  readonly chunkSize: number;
  /** Tokens per page. */
  readonly pageSize: number;
  /**
   * Numerics and storage of the KV pool (default `'f32'`; `'f16'` is stored as halves where the backend can, `'q8_0'`
   * as blocks of 32 int8 quants and an f16 scale).
   */
  readonly cacheType?: KeyValuePrecision;
}

/**
 * Continuous batching in one forward per engine step: the rows of every running sequence (a decode token each, plus
 * the prefill chunks of newly admitted ones) are embedded, run through every layer and, for the rows that want a
 * token, through the lm head together, so each weight is one mat-mul over all the rows. Only the cache write and the
 * attention are per sequence, through each row's page table into one paged KV pool (`Backend.pagedAttention`), so
 * prefix-cache pages are shared in place (`sharesPages`). A step runs in a tensor scope: everything it makes is freed
 * when it ends; only the pool outlives it.
 */
export class BatchedStepExecutor implements PageSharingExecutor {
  /** {@link StepExecutorBase.vocabularySize}. */
  readonly vocabularySize: number;
  /** {@link StepExecutorBase.contextLength}. */
  readonly contextLength: number;
  /** {@link StepExecutorBase.chunkSize}. */
  readonly chunkSize: number;
  /** {@link StepExecutorBase.pageSize}. */
  readonly pageSize: number;
  /** {@link StepExecutorBase.bytesPerPage}: one page of every layer's pool, as the backend stores it. */
  readonly bytesPerPage: number;
  /** {@link StepExecutorBase.slidingWindow}: the largest window when every layer has one. */
  readonly slidingWindow: number | undefined;
  /** {@link PageSharingExecutor.sharesPages}: attention reads pages through the page tables. */
  readonly sharesPages = true;
  private readonly backend: ScopedBackend;
  private readonly shape: PagedPoolShape;
  private pool: PagedKeyValuePool | undefined;

  /** An executor over `model` (already on `backend`); its pool is sized by {@link BatchedStepExecutor.reservePages}. */
  constructor(
    private readonly model: BatchableModel,
    backend: Backend,
    options: BatchedStepExecutorOptions,
  ) {
    this.backend = createScopedBackend(backend);
    this.vocabularySize = model.vocabularySize;
    this.contextLength = options.contextLength;
    this.chunkSize = options.chunkSize;
    this.pageSize = options.pageSize;
    this.shape = { specs: model.cacheSpecs, pageSize: options.pageSize, precision: options.cacheType ?? 'f32' };
    this.bytesPerPage = PagedKeyValuePool.bytesPerPage(this.backend, this.shape);
    const windows = model.cacheSpecs.map((spec) => spec.window);
    this.slidingWindow = windows.every((window) => window !== undefined) ? Math.max(...windows) : undefined;
  }

  /** Bytes of the KV pool on the device (0 before {@link BatchedStepExecutor.reservePages}). */
  get cacheByteLength(): number {
    return this.pool?.byteLength ?? 0;
  }

  /** {@link StepExecutorBase.reservePages}: allocates the pool of every layer, `totalPages` pages each. */
  reservePages(totalPages: number): void {
    if (this.pool !== undefined) {
      throw new StrataError(
        'INVALID_ARGUMENT',
        'This executor already holds a KV pool; give each scheduler an executor of its own.',
      );
    }
    this.pool = new PagedKeyValuePool(this.backend, this.shape, totalPages);
  }

  /** {@link StepExecutorBase.step}: one forward over every row, then the lm head over the rows that want a token. */
  async step(rows: readonly StepRow[]): Promise<StepRowResult[]> {
    const pool = this.pool;
    if (pool === undefined) {
      throw new StrataError('INVALID_ARGUMENT', 'reservePages must size the KV pool before the first step.');
    }
    if (rows.length === 0) return [];
    const { backend, model, pageSize } = this;
    // Every op is recorded before the step's first await (the reads), so the scope sees the whole step.
    return inStepScope(backend, () => {
      const batch = createPagedBatch(backend, {
        pageSize,
        sequences: rows.map((row) => ({ firstPosition: row.firstPosition, rows: row.ids.length, pages: row.pages })),
      });
      const ids = new Int32Array(batch.rows);
      let offset = 0;
      for (const row of rows) {
        ids.set(row.ids, offset);
        offset += row.ids.length;
      }
      const input = backend.upload(ids, [ids.length]);
      const embedded = model.embed(input);
      backend.dispose(input);
      const hidden = transformAndRelease(backend, embedded, (states) =>
        model.transformPaged(states, { backend, batch, caches: pool.caches }),
      );
      return readBatchedResults(backend, hidden, rows, (last) => model.lmHead(last));
    });
  }

  /** {@link StepExecutorBase.release}: nothing to do, a sequence's state is its pages. */
  release(): void {
    // The scheduler frees the pages; the pool keeps no per-sequence state.
  }

  /** {@link StepExecutorBase.releasePage}: nothing to do, the page's storage stays in the pool for its next owner. */
  releasePage(): void {
    // A freed page is overwritten by the next sequence that writes it; nothing reads it before.
  }

  /** {@link StepExecutorBase.dispose}: hands the pool back; the model's weights stay. */
  async dispose(): Promise<void> {
    this.pool?.dispose();
    this.pool = undefined;
  }
}
