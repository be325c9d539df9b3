import type { Backend, KeyValueCache, KeyValuePrecision } from '@strata/core';
import type { CompleteModel } from '@strata/models';
import { cacheCapacity, checkCachePrecision, keyValueBytes } from '../cache/layer-caches.js';
import { finishStep, transformAndRelease } from '../generation/local-executor.js';
import type { PageCopyingExecutor, PageGroup, StepRow, StepRowResult } from './step-executor.js';

/** Options of {@link PerSequenceStepExecutor}. */
export interface PerSequenceStepExecutorOptions {
  /** Tokens one sequence may hold. */
  readonly contextLength: number;
  /** Most ids per row; sliding-window ring caches are sized for it. Must be a multiple of `pageSize`. */
  readonly chunkSize: number;
  /** Tokens per page. */
  readonly pageSize: number;
  /** Numerics and storage of the caches (default `'f32'`; see `RuntimeOptions.cacheType`). */
  readonly cacheType?: KeyValuePrecision;
}

interface SequenceStorage {
  caches: KeyValueCache[];
  /** Rows of the full-attention layers' caches. */
  capacity: number;
}

/**
 * The fallback step executor, for a model without the paged forward (see `createStepExecutor`; the
 * `BatchedStepExecutor` serves every model of the transformer builder): each running sequence keeps contiguous caches
 * holding exactly its pages (full-attention layers: `pages · pageSize` rows, grown by a device copy when the scheduler
 * hands it more pages; sliding-window layers: a fixed ring), and a step runs the rows one after another through the
 * model's contiguous forward. Prefix-cache pages are kept as separate page tensors and copied into a sequence's caches
 * when it adopts them.
 */
export class PerSequenceStepExecutor implements PageCopyingExecutor {
  /** {@link StepExecutorBase.vocabularySize}. */
  readonly vocabularySize: number;
  /** {@link StepExecutorBase.contextLength}. */
  readonly contextLength: number;
  /** {@link StepExecutorBase.chunkSize}. */
  readonly chunkSize: number;
  /** {@link StepExecutorBase.pageSize}. */
  readonly pageSize: number;
  /**
   * Bytes of one page: `pageSize` rows of keys and values for every layer, in the storage the backend gives caches of
   * the executor's `cacheType` (f32: 8 bytes per value pair; q8_0: 34 bytes per 32 values, twice).
   */
  readonly bytesPerPage: number;
  /**
   * {@link PageCopyingExecutor.pageGroups}: one group of every layer, without a window (the windowed layers' rings are
   * a sequence's own storage; the pages count its positions).
   */
  readonly pageGroups: readonly [PageGroup & { readonly window: undefined }];
  /** {@link PageCopyingExecutor.sharesPages}: false, each sequence's caches are its own contiguous tensors. */
  readonly sharesPages = false;
  private readonly precision: KeyValuePrecision;
  private readonly storage = new Map<number, SequenceStorage>();
  private readonly cachedPages = new Map<number, KeyValueCache[]>();

  /** An executor over `model` (already on `backend`). */
  constructor(
    private readonly model: CompleteModel,
    private readonly backend: Backend,
    options: PerSequenceStepExecutorOptions,
  ) {
    this.vocabularySize = model.vocabularySize;
    this.contextLength = options.contextLength;
    this.chunkSize = options.chunkSize;
    this.pageSize = options.pageSize;
    this.precision = options.cacheType ?? 'f32';
    checkCachePrecision(model.cacheSpecs, this.precision);
    this.bytesPerPage = model.cacheSpecs.reduce(
      (sum, spec) => sum + keyValueBytes(backend, spec.keyValueWidth, this.pageSize, this.precision),
      0,
    );
    this.pageGroups = [{ window: undefined, bytesPerPage: this.bytesPerPage }];
  }

  /** {@link StepExecutorBase.reservePages}: nothing to reserve, each sequence's caches grow with its pages. */
  reservePages(): void {
    // Storage follows each sequence's pages (cachesOf), not the budget.
  }

  /** {@link StepExecutorBase.step}: the rows run one after another, each through the whole model. */
  async step(rows: readonly StepRow[]): Promise<StepRowResult[]> {
    const results: StepRowResult[] = [];
    const { backend, model } = this;
    for (const row of rows) {
      const caches = this.cachesOf(row.sequence, row.pageTables[0]!.length);
      const ids = backend.upload(row.ids, [row.ids.length]);
      const embedded = model.embed(ids);
      backend.dispose(ids);
      const hidden = transformAndRelease(backend, embedded, (input) =>
        model.transform(input, { backend, firstPosition: row.firstPosition, caches }),
      );
      results.push(await finishStep(backend, hidden, (last) => model.lmHead(last), row));
    }
    return results;
  }

  /** {@link PageCopyingExecutor.savePage}: the page's rows are copied out of the sequence's caches (ring wrap included). */
  savePage(sequence: number, pageIndex: number, pages: readonly number[], page: number): void {
    const { pageSize } = this;
    const caches = this.cachesOf(sequence, pages.length);
    const first = pageIndex * pageSize;
    const copies = caches.map((cache, layer) => {
      const width = this.model.cacheSpecs[layer]!.keyValueWidth;
      const target = this.emptyCache(pageSize, width);
      const capacity = cache.keys.shape[0]!;
      const start = first % capacity;
      const head = Math.min(pageSize, capacity - start);
      this.copyRows(cache, start, head, target, 0);
      if (head < pageSize) this.copyRows(cache, 0, pageSize - head, target, head);
      return target;
    });
    this.releasePage(0, page);
    this.cachedPages.set(page, copies);
  }

  /** {@link PageCopyingExecutor.loadPage}: the cached page's rows are written at the page's positions. */
  loadPage(sequence: number, pageIndex: number, pages: readonly number[], page: number): void {
    const source = this.cachedPages.get(page);
    if (source === undefined) return;
    const caches = this.cachesOf(sequence, pages.length);
    caches.forEach((cache, layer) => {
      this.copyRows(source[layer]!, 0, this.pageSize, cache, pageIndex * this.pageSize);
    });
  }

  /** {@link StepExecutorBase.release}. */
  release(sequence: number): void {
    const storage = this.storage.get(sequence);
    if (storage === undefined) return;
    this.storage.delete(sequence);
    this.disposeCaches(storage.caches);
  }

  /** {@link StepExecutorBase.releasePage} (of the one group). */
  releasePage(_group: number, page: number): void {
    const caches = this.cachedPages.get(page);
    if (caches === undefined) return;
    this.cachedPages.delete(page);
    this.disposeCaches(caches);
  }

  /** {@link StepExecutorBase.dispose}. */
  async dispose(): Promise<void> {
    for (const sequence of [...this.storage.keys()]) this.release(sequence);
    for (const page of [...this.cachedPages.keys()]) this.releasePage(0, page);
  }

  /** The sequence's caches, allocated or grown to hold `pageCount` pages. */
  private cachesOf(sequence: number, pageCount: number): KeyValueCache[] {
    const capacity = pageCount * this.pageSize;
    const existing = this.storage.get(sequence);
    if (existing !== undefined && existing.capacity >= capacity) return existing.caches;
    const caches = this.model.cacheSpecs.map((spec, layer) => {
      const old = existing?.caches[layer];
      if (spec.window !== undefined && old !== undefined) return old;
      const rows = spec.window === undefined ? capacity : cacheCapacity(spec, this.contextLength, this.chunkSize);
      const cache = this.emptyCache(rows, spec.keyValueWidth);
      if (old !== undefined) {
        this.copyRows(old, 0, existing!.capacity, cache, 0);
        this.disposeCaches([old]);
      }
      return cache;
    });
    this.storage.set(sequence, { caches, capacity });
    return caches;
  }

  private emptyCache(rows: number, width: number): KeyValueCache {
    return this.backend.createKeyValueCache(rows, width, this.precision);
  }

  /**
   * Copies rows `[start, start + count)` of `source` into `target` at position `at`: the rows come as f32 (an f16 or
   * q8_0 cache's decoded values) and are written again, which gives the same halves or blocks (lossless).
   */
  private copyRows(source: KeyValueCache, start: number, count: number, target: KeyValueCache, at: number): void {
    const keys = this.backend.sliceRows(source.keys, start, count);
    const values = this.backend.sliceRows(source.values, start, count);
    this.backend.writeKeyValues(target, keys, values, at);
    this.backend.dispose(keys);
    this.backend.dispose(values);
  }

  private disposeCaches(caches: readonly KeyValueCache[]): void {
    for (const cache of caches) {
      this.backend.dispose(cache.keys);
      this.backend.dispose(cache.values);
    }
  }
}
