import {
  type Backend,
  type KeyValueCache,
  type KeyValuePrecision,
  type PagedKeyValueCache,
  storageBytes,
} from '@strata/core';
import type { LayerCacheSpec } from '@strata/models';

/** Bytes a cache's keys and values occupy in storage (whatever the precision stores them as). */
function cacheBytes(cache: KeyValueCache): number {
  return storageBytes(cache.keys.dtype, cache.keys.shape) + storageBytes(cache.values.dtype, cache.values.shape);
}

/** Shape of a {@link PagedKeyValuePool}. */
export interface PagedPoolShape {
  /**
   * What each layer's cache holds (its width; windows do not change the storage of a page): every layer of a model,
   * or the layers of one page group (the scheduler's batched executor keeps a pool per group).
   */
  readonly specs: readonly LayerCacheSpec[];
  /** Rows per page. */
  readonly pageSize: number;
  /** Numerics of the caches (stored as the backend stores that precision). */
  readonly precision: KeyValuePrecision;
}

/**
 * The paged KV memory of a set of layers (a whole model, or one page group of it): one {@link PagedKeyValueCache} per
 * layer, all with the same pages, so a page id names `pageSize` positions of every layer of the set. Sized once from
 * the scheduler's budget; the scheduler hands out the page ids, the model reads and writes the pages through each
 * step's page tables.
 */
export class PagedKeyValuePool {
  /** One pool per layer, in the order of the model's cache specs. */
  readonly caches: readonly PagedKeyValueCache[];
  /** Bytes of every layer's pool together. */
  readonly byteLength: number;

  /** `pages` pages of every layer on `backend`. */
  constructor(
    private readonly backend: Backend,
    shape: PagedPoolShape,
    readonly pages: number,
  ) {
    this.caches = shape.specs.map((spec) =>
      backend.createPagedKeyValueCache(pages, shape.pageSize, spec.keyValueWidth, shape.precision),
    );
    this.byteLength = this.caches.reduce((sum, cache) => sum + cacheBytes(cache.storage), 0);
  }

  /**
   * Bytes one page takes across every layer on `backend`, measured on a one-page pool per distinct layer width (the
   * backend decides how a precision is stored: f16 as halves on WebGPU, rounded f32 on the CPU; q8_0 as blocks).
   */
  static bytesPerPage(backend: Backend, shape: PagedPoolShape): number {
    const byWidth = new Map<number, number>();
    let total = 0;
    for (const spec of shape.specs) {
      let bytes = byWidth.get(spec.keyValueWidth);
      if (bytes === undefined) {
        const probe = backend.createPagedKeyValueCache(1, shape.pageSize, spec.keyValueWidth, shape.precision);
        bytes = cacheBytes(probe.storage);
        backend.dispose(probe.storage.keys);
        backend.dispose(probe.storage.values);
        byWidth.set(spec.keyValueWidth, bytes);
      }
      total += bytes;
    }
    return total;
  }

  /** Hands every layer's storage back to the backend. */
  dispose(): void {
    for (const cache of this.caches) {
      this.backend.dispose(cache.storage.keys);
      this.backend.dispose(cache.storage.values);
    }
  }
}
