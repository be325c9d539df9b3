/**
 * Test double with real storage: a step executor whose KV memory lives only in pages (one `[pageSize, width]` tensor
 * pair per layer of the page's group, per page), read through each row's page tables (one per page group: the
 * full-attention layers, each sliding window), so prefix-cache pages are shared between sequences without a copy
 * (`sharesPages`) and a windowed group's pages can be given back. A row's forward copies its pages into contiguous
 * caches, runs the model, and writes the pages it touched back: slow, but exactly the semantics a paged attention
 * kernel gives. Test-only.
 */
import type { Backend, KeyValueCache } from '@strata/core';
import type { CompleteModel } from '@strata/models';
import { finishStep, transformAndRelease } from '../generation/local-executor.js';
import { groupLayersByWindow } from '../scheduler/page-groups.js';
import type {
  PageGroup,
  PageSharingExecutor,
  StepExecutorBase,
  StepRow,
  StepRowResult,
} from '../scheduler/step-executor.js';

/** A paged executor for tests (see the file comment). */
export class PagedReferenceExecutor implements PageSharingExecutor {
  /** {@link StepExecutorBase.vocabularySize}. */
  readonly vocabularySize: number;
  /** {@link StepExecutorBase.pageGroups}: the model's layers grouped by sliding window. */
  readonly pageGroups: readonly PageGroup[];
  /** Pages are read through the page table: shared without copies. */
  readonly sharesPages = true;
  private readonly groupOfLayer: readonly number[];
  /** Per group: the stored pages, each one key/value pair per layer of the group, in layer order. */
  private readonly pages: Map<number, KeyValueCache[]>[];

  /** An executor over `model` on `backend` with pages of `pageSize` tokens. */
  constructor(
    private readonly model: CompleteModel,
    private readonly backend: Backend,
    readonly contextLength: number,
    readonly chunkSize: number,
    readonly pageSize: number,
  ) {
    this.vocabularySize = model.vocabularySize;
    const { windows, groupOfLayer } = groupLayersByWindow(model.cacheSpecs, contextLength);
    this.groupOfLayer = groupOfLayer;
    this.pageGroups = windows.map((window, group) => ({
      window,
      bytesPerPage: model.cacheSpecs.reduce(
        (sum, spec, layer) => sum + (groupOfLayer[layer] === group ? 2 * 4 * spec.keyValueWidth * pageSize : 0),
        0,
      ),
    }));
    this.pages = windows.map(() => new Map());
  }

  /** Bytes of one page in every group together. */
  get bytesPerPage(): number {
    return this.pageGroups.reduce((sum, group) => sum + group.bytesPerPage, 0);
  }

  /** {@link StepExecutorBase.step}: each row copies its pages in, runs the model, and writes its pages back. */
  async step(rows: readonly StepRow[]): Promise<StepRowResult[]> {
    const results: StepRowResult[] = [];
    const { backend, model, pageSize, groupOfLayer } = this;
    for (const row of rows) {
      const end = row.firstPosition + row.ids.length;
      const pageCount = Math.ceil(end / pageSize);
      // Contiguous caches covering every page (a capacity ≥ every position: no ring, windows still apply).
      const caches = model.cacheSpecs.map((spec) => ({
        keys: backend.zeros([pageCount * pageSize, spec.keyValueWidth]),
        values: backend.zeros([pageCount * pageSize, spec.keyValueWidth]),
      }));
      for (let index = 0; index < Math.ceil(row.firstPosition / pageSize); index++) {
        for (const [layer, cache] of caches.entries()) {
          const group = groupOfLayer[layer]!;
          const page = row.pageTables[group]![index]!;
          if (page < 0) continue; // given back: before the group's window, never read
          const stored = this.pages[group]!.get(page);
          if (stored === undefined) throw new Error(`page ${page} of group ${group} was read before it was written`);
          const slot = stored[this.slotOf(layer)]!;
          backend.writeKeyValues(cache, slot.keys, slot.values, index * pageSize);
        }
      }
      const ids = backend.upload(row.ids, [row.ids.length]);
      const embedded = model.embed(ids);
      backend.dispose(ids);
      const hidden = transformAndRelease(backend, embedded, (input) =>
        model.transform(input, { backend, firstPosition: row.firstPosition, caches }),
      );
      results.push(await finishStep(backend, hidden, (last) => model.lmHead(last), row));
      for (let index = Math.floor(row.firstPosition / pageSize); index < pageCount; index++) {
        this.pageGroups.forEach((_, group) => {
          const page = row.pageTables[group]![index]!;
          if (page < 0) throw new Error(`page ${index} of group ${group} is written but not held`);
          this.releasePage(group, page);
          const layers = caches.filter((_, layer) => groupOfLayer[layer] === group);
          this.pages[group]!.set(
            page,
            layers.map((cache) => ({
              keys: backend.sliceRows(cache.keys, index * pageSize, pageSize),
              values: backend.sliceRows(cache.values, index * pageSize, pageSize),
            })),
          );
        });
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
  releasePage(group: number, page: number): void {
    const stored = this.pages[group]!.get(page);
    if (stored === undefined) return;
    this.pages[group]!.delete(page);
    for (const cache of stored) {
      this.backend.dispose(cache.keys);
      this.backend.dispose(cache.values);
    }
  }

  /** Frees every page. */
  async dispose(): Promise<void> {
    this.pages.forEach((stored, group) => {
      for (const page of [...stored.keys()]) this.releasePage(group, page);
    });
  }

  /** The index of `layer` among the layers of its group. */
  private slotOf(layer: number): number {
    const group = this.groupOfLayer[layer];
    return this.groupOfLayer.slice(0, layer).filter((other) => other === group).length;
  }
}
