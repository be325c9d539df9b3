/**
 * Test double with real storage: a step executor whose KV memory lives only in pages (one `[pageSize, width]` tensor
 * pair per layer per page), read through each row's page table, so prefix-cache pages are shared between sequences
 * without a copy (`sharesPages`). A row's forward copies its pages into contiguous caches, runs the model, and writes
 * the pages it touched back: slow, but exactly the semantics a paged attention kernel gives. Test-only.
 */
import type { Backend, KeyValueCache } from '@strata/core';
import type { CompleteModel } from '@strata/models';
import { finishStep, transformAndRelease } from '../generation/local-executor.js';
import type { PageSharingExecutor, StepExecutorBase, StepRow, StepRowResult } from '../scheduler/step-executor.js';

/** A paged executor for tests (see the file comment). */
export class PagedReferenceExecutor implements PageSharingExecutor {
  /** {@link StepExecutorBase.vocabularySize}. */
  readonly vocabularySize: number;
  /** {@link StepExecutorBase.bytesPerPage}. */
  readonly bytesPerPage: number;
  /** Pages are read through the page table: shared without copies. */
  readonly sharesPages = true;
  private readonly pages = new Map<number, KeyValueCache[]>();

  /** An executor over `model` on `backend` with pages of `pageSize` tokens. */
  constructor(
    private readonly model: CompleteModel,
    private readonly backend: Backend,
    readonly contextLength: number,
    readonly chunkSize: number,
    readonly pageSize: number,
  ) {
    this.vocabularySize = model.vocabularySize;
    this.bytesPerPage = model.cacheSpecs.reduce((sum, spec) => sum + 2 * 4 * spec.keyValueWidth * pageSize, 0);
  }

  /** {@link StepExecutorBase.step}: each row copies its pages in, runs the model, and writes its pages back. */
  async step(rows: readonly StepRow[]): Promise<StepRowResult[]> {
    const results: StepRowResult[] = [];
    const { backend, model, pageSize } = this;
    for (const row of rows) {
      const end = row.firstPosition + row.ids.length;
      // Contiguous caches covering every page (a capacity ≥ every position: no ring, windows still apply).
      const caches = model.cacheSpecs.map((spec) => ({
        keys: backend.zeros([row.pages.length * pageSize, spec.keyValueWidth]),
        values: backend.zeros([row.pages.length * pageSize, spec.keyValueWidth]),
      }));
      for (let index = 0; index < Math.ceil(row.firstPosition / pageSize); index++) {
        const stored = this.pages.get(row.pages[index]!);
        if (stored === undefined) throw new Error(`page ${row.pages[index]} was read before it was written`);
        for (const [layer, cache] of caches.entries()) {
          backend.writeKeyValues(cache, stored[layer]!.keys, stored[layer]!.values, index * pageSize);
        }
      }
      const ids = backend.upload(row.ids, [row.ids.length]);
      const embedded = model.embed(ids);
      backend.dispose(ids);
      const hidden = transformAndRelease(backend, embedded, (input) =>
        model.transform(input, { backend, firstPosition: row.firstPosition, caches }),
      );
      results.push(await finishStep(backend, hidden, (last) => model.lmHead(last), row));
      for (let index = Math.floor(row.firstPosition / pageSize); index < Math.ceil(end / pageSize); index++) {
        this.releasePage(row.pages[index]!);
        this.pages.set(
          row.pages[index]!,
          caches.map((cache) => {
            const keys = backend.sliceRows(cache.keys, index * pageSize, pageSize);
            const values = backend.sliceRows(cache.values, index * pageSize, pageSize);
            return { keys, values };
          }),
        );
      }
      for (const cache of caches) {
        backend.dispose(cache.keys);
        backend.dispose(cache.values);
      }
    }
    return results;
  }

  /** Nothing to reserve: pages are stored as they are written. */
  reservePages(): void {
    // Page tensors are made by the steps that write them.
  }

  /** Nothing to do: a sequence's state is its pages. */
  release(): void {
    // Pages hold everything; a sequence keeps nothing else.
  }

  /** Frees a page's tensors. */
  releasePage(page: number): void {
    const stored = this.pages.get(page);
    if (stored === undefined) return;
    this.pages.delete(page);
    for (const cache of stored) {
      this.backend.dispose(cache.keys);
      this.backend.dispose(cache.values);
    }
  }

  /** Frees every page. */
  async dispose(): Promise<void> {
    for (const page of [...this.pages.keys()]) this.releasePage(page);
  }
}
