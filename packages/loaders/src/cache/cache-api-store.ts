import { cacheKey } from './cache-key.js';
import type { CacheRecord, CacheWriter, ModelCacheStore } from './cache-store.js';
import { storageError } from './opfs-cache-store.js';

/** Where one entry's parts live in the Cache API (made-up URLs under a reserved origin; never fetched). */
const PREFIX = 'https://strata-model-cache.invalid/';

interface Parts {
  /** The size of each stored part, in order (a part is one write of the download). */
  readonly sizes: number[];
}

/**
 * A {@link ModelCacheStore} in the Cache API, for browsers without a writable Origin Private File System. The Cache API
 * cannot append, so each write is stored as one part (`KEY/part/N`), with the list of part sizes in `KEY/parts`; a
 * resumed download adds parts after the stored ones. Reads fetch only the parts that overlap the range.
 */
export function cacheApiStore(name = 'strata-models'): ModelCacheStore {
  let opened: Promise<Cache> | undefined;
  const cache = () => {
    opened ??= caches.open(name);
    return opened;
  };
  const recordUrl = (url: string) => `${PREFIX}${cacheKey(url)}/record`;
  const partsUrl = (url: string) => `${PREFIX}${cacheKey(url)}/parts`;
  const partUrl = (url: string, index: number) => `${PREFIX}${cacheKey(url)}/part/${index}`;
  const json = async <T>(key: string): Promise<T | undefined> => {
    const response = await (await cache()).match(key);
    if (response === undefined) return undefined;
    try {
      return (await response.json()) as T;
    } catch {
      return undefined;
    }
  };
  const put = async (key: string, body: BodyInit, what: string) => {
    try {
      await (await cache()).put(key, new Response(body));
    } catch (cause) {
      throw storageError(what, cause);
    }
  };
  const partsOf = async (url: string): Promise<Parts> => (await json<Parts>(partsUrl(url))) ?? { sizes: [] };
  const removeParts = async (url: string, parts: Parts) => {
    const opened = await cache();
    for (let index = 0; index < parts.sizes.length; index++) await opened.delete(partUrl(url, index));
    await opened.delete(partsUrl(url));
  };
  return {
    name: 'Cache API',
    async records() {
      const keys = await (await cache()).keys();
      const records = await Promise.all(
        keys.filter((request) => request.url.endsWith('/record')).map((request) => json<CacheRecord>(request.url)),
      );
      return records.filter((record): record is CacheRecord => record !== undefined);
    },
    async record(url) {
      const record = await json<CacheRecord>(recordUrl(url));
      return record?.url === url ? record : undefined;
    },
    async putRecord(record) {
      await put(recordUrl(record.url), JSON.stringify(record), `recording ${record.url}`);
    },
    async storedBytes(url) {
      return (await partsOf(url)).sizes.reduce((sum, size) => sum + size, 0);
    },
    async writer(url, options = {}): Promise<CacheWriter> {
      let parts = await partsOf(url);
      if (options.truncate === true) {
        await removeParts(url, parts);
        parts = { sizes: [] };
      }
      const sizes = [...parts.sizes];
      return {
        async write(bytes) {
          if (bytes.byteLength === 0) return;
          await put(partUrl(url, sizes.length), bytes.slice(), `storing ${url}`);
          sizes.push(bytes.byteLength);
          await put(partsUrl(url), JSON.stringify({ sizes }), `storing ${url}`);
        },
        async close() {},
      };
    },
    async read(url, offset, length) {
      const bytes = new Uint8Array(length);
      const { sizes } = await partsOf(url);
      let start = 0;
      for (let index = 0; index < sizes.length && start < offset + length; index++) {
        const size = sizes[index] as number;
        const end = start + size;
        if (end > offset) {
          const response = await (await cache()).match(partUrl(url, index));
          if (response === undefined) throw storageError(`reading ${url}`, new Error(`part ${index} is missing`));
          const part = new Uint8Array(await response.arrayBuffer());
          const from = Math.max(offset, start);
          const to = Math.min(offset + length, end);
          bytes.set(part.subarray(from - start, to - start), from - offset);
        }
        start = end;
      }
      if (start < offset + length) throw storageError(`reading ${url}`, new Error('the range is not stored'));
      return bytes;
    },
    async remove(url) {
      const existed = (await (await cache()).match(recordUrl(url))) !== undefined;
      await removeParts(url, await partsOf(url));
      await (await cache()).delete(recordUrl(url));
      return existed;
    },
    async available() {
      const estimate = await navigator.storage.estimate();
      return estimate.quota === undefined ? undefined : Math.max(0, estimate.quota - (estimate.usage ?? 0));
    },
  };
}
