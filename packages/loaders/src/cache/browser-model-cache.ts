import { cacheApiStore } from './cache-api-store.js';
import type { ModelCacheStore } from './cache-store.js';
import { ModelCache, type ModelCacheOptions } from './model-cache.js';
import { canWriteOpfs, opfsCacheStore } from './opfs-cache-store.js';

/** The browser's best store: OPFS where this context can write it in place (a dedicated Worker), else the Cache API. */
export function browserCacheStore(): ModelCacheStore {
  return canWriteOpfs() ? opfsCacheStore() : cacheApiStore();
}

/** A {@link ModelCache} over {@link browserCacheStore}. Open it in the Worker that loads the model. */
export function browserModelCache(options: ModelCacheOptions = {}): ModelCache {
  return new ModelCache(browserCacheStore(), options);
}
