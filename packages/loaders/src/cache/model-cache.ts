import { StrataError } from '@strata/core';
import type { ByteSource } from '../byte-source/byte-source.js';
import { checkReadRange } from '../byte-source/byte-source.js';
import { urlSource } from '../byte-source/url-source.js';
import { CacheDownload, type CacheProgress, readStoredInto } from './cache-download.js';
import type { CacheEntryLock, CacheRecord, ModelCacheStore } from './cache-store.js';
import { serverSha256, startOfContentRange, totalOfContentRange } from './http-headers.js';

/** One cached URL as {@link ModelCache.list} shows it. */
export interface CachedEntry {
  /** The URL. */
  readonly url: string;
  /** Bytes stored (for a partial download, less than `totalBytes`). */
  readonly byteLength: number;
  /** The file's full size. */
  readonly totalBytes: number;
  /** When it was last used (milliseconds since the epoch). */
  readonly lastUsed: number;
  /** True when every byte is stored and verified. */
  readonly complete: boolean;
}

/** Options of a {@link ModelCache}. */
export interface ModelCacheOptions {
  /** The fetch to use (default: the global one). */
  readonly fetch?: typeof fetch;
  /** The most bytes the cache may hold in all; a download that would exceed it fails with `STORAGE_QUOTA`. */
  readonly budgetBytes?: number;
  /**
   * Where the store locks entries across processes (the directory store): how long to wait for another process's
   * download while it makes no progress, before `CACHE_LOCKED` (default: the store's, 60 s).
   */
  readonly lockTimeoutMs?: number;
}

/** Options of {@link ModelCache.open}. */
export interface CacheOpenOptions {
  /** Cancels the download; the bytes stored so far stay as a partial entry that the next load resumes. */
  readonly signal?: AbortSignal;
  /** The file's SHA-256 (hex); the download is verified against it (else against the server's digest, when given). */
  readonly sha256?: string;
  /** Extra request headers (for example `Authorization`). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Called as bytes arrive (at most every 50 ms, and once at the end). */
  readonly onProgress?: (progress: CacheProgress) => void;
  /** On `STORAGE_QUOTA`, read the file from the network without caching it instead of failing. */
  readonly allowUncached?: boolean;
  /** Dropped connections resumed within this load before it fails (default 3). */
  readonly retries?: number;
}

/** A file opened through a {@link ModelCache}: a ByteSource, how its bytes come, and when they are all stored. */
export interface CachedSource extends ByteSource {
  /** `cache`: read from storage only; `network`: being downloaded into the cache; `uncached`: read from the network. */
  readonly from: 'cache' | 'network' | 'uncached';
  /** Resolves when every byte is stored and verified (at once for `cache` and `uncached`); rejects when the download fails. */
  readonly completed: Promise<void>;
}

function networkError(url: string, what: string, cause?: unknown, details: Record<string, unknown> = {}): StrataError {
  return new StrataError('NETWORK_ERROR', `${what} (${url}); check the URL and the network.`, {
    cause,
    details: { url, ...details },
  });
}

/**
 * A persistent cache of model files by URL, over a {@link ModelCacheStore} (a directory in Node, OPFS or the Cache API in
 * browsers). {@link ModelCache.open} serves a complete entry from storage without the network, resumes a partial one
 * with an HTTP range request, and streams a new one into storage while it is being read. An entry is listed as complete
 * only once every byte is stored and its size (and SHA-256, when known) is verified.
 */
export class ModelCache {
  /** Where the entries live. */
  readonly store: ModelCacheStore;
  readonly #fetch: typeof fetch | undefined;
  readonly #budgetBytes: number | undefined;
  readonly #lockTimeoutMs: number | undefined;
  readonly #downloads = new Map<string, CacheDownload>();

  /** A cache over `store`. */
  constructor(store: ModelCacheStore, options: ModelCacheOptions = {}) {
    this.store = store;
    this.#fetch = options.fetch;
    this.#budgetBytes = options.budgetBytes;
    this.#lockTimeoutMs = options.lockTimeoutMs;
  }

  /**
   * Runs `work` holding `url`'s entry lock (where the store has one), and releases it when the promise `work` returns
   * as `until` settles: at once for a read from the store, after the whole download for one that keeps streaming.
   */
  async #locked<T>(
    url: string,
    signal: AbortSignal | undefined,
    work: () => Promise<{ readonly value: T; readonly until?: Promise<unknown> }>,
  ): Promise<T> {
    const lock: CacheEntryLock | undefined = await this.store.lock?.(url, {
      ...(signal === undefined ? {} : { signal }),
      ...(this.#lockTimeoutMs === undefined ? {} : { timeoutMs: this.#lockTimeoutMs }),
    });
    let until: Promise<unknown> | undefined;
    try {
      const result = await work();
      until = result.until;
      return result.value;
    } finally {
      if (until === undefined) await lock?.release();
      else
        void until
          .then(undefined, () => undefined)
          .then(() => lock?.release())
          .catch(() => undefined); // a lock file that cannot be removed goes stale and is broken by the next waiter
    }
  }

  /** Whether `url` is stored complete and verified. */
  async has(url: string): Promise<boolean> {
    const record = await this.store.record(url);
    return record?.complete === true && (await this.store.storedBytes(url)) === record.byteLength;
  }

  /** Every entry, complete or partial, most recently used first. */
  async list(): Promise<CachedEntry[]> {
    const records = await this.store.records();
    const entries = await Promise.all(
      records.map(async (record) => {
        const stored = await this.store.storedBytes(record.url);
        return {
          url: record.url,
          byteLength: stored,
          totalBytes: record.byteLength,
          lastUsed: record.lastUsed,
          complete: record.complete && stored === record.byteLength,
        };
      }),
    );
    return entries.sort((a, b) => b.lastUsed - a.lastUsed);
  }

  /** Removes `url`'s entry (after another process's download of it ends); resolves to whether there was one. */
  async delete(url: string): Promise<boolean> {
    return this.#locked(url, undefined, async () => ({ value: await this.store.remove(url) }));
  }

  /** Removes every entry. */
  async clear(): Promise<void> {
    for (const record of await this.store.records()) await this.delete(record.url);
  }

  /** Bytes stored in all, partial entries included. */
  async totalSize(): Promise<number> {
    const sizes = await Promise.all((await this.store.records()).map((record) => this.store.storedBytes(record.url)));
    return sizes.reduce((sum, size) => sum + size, 0);
  }

  /** Stores `bytes` as the complete entry of `url` (small files a caller made, such as a folder's list of files). */
  async put(url: string, bytes: Uint8Array): Promise<void> {
    await this.#locked(url, undefined, async () => {
      const record: CacheRecord = { url, byteLength: bytes.byteLength, complete: false, lastUsed: Date.now() };
      await this.store.putRecord(record);
      const writer = await this.store.writer(url, { truncate: true });
      try {
        await writer.write(bytes);
      } finally {
        await writer.close();
      }
      await this.store.putRecord({ ...record, complete: true });
      return { value: undefined };
    });
  }

  /**
   * Opens `url` as a ByteSource: from storage when complete (no request is made), else downloading into storage from
   * where a partial entry stopped. `STORAGE_QUOTA` when the rest does not fit (unless `allowUncached`), `NETWORK_ERROR`
   * when the server fails, `ABORTED` when `signal` fires. Where the store locks entries across processes, a download
   * holds the entry's lock until it ends, and another process opening the same URL waits for it (then reads the
   * complete entry), or fails with `CACHE_LOCKED` when that download makes no progress for `lockTimeoutMs`.
   */
  async open(url: string, options: CacheOpenOptions = {}): Promise<CachedSource> {
    const running = this.#downloads.get(url);
    if (running !== undefined) await running.completed.catch(() => undefined);
    return this.#locked(url, options.signal, async () => {
      const record = await this.store.record(url);
      if (record?.complete === true && (await this.store.storedBytes(url)) === record.byteLength) {
        return { value: await this.#fromStore(record, options) };
      }
      const source = await this.#download(url, record, options);
      return { value: source, until: source.completed };
    });
  }

  async #fromStore(record: CacheRecord, options: CacheOpenOptions): Promise<CachedSource> {
    await this.store.putRecord({ ...record, lastUsed: Date.now() });
    options.onProgress?.({
      url: record.url,
      from: 'cache',
      loadedBytes: record.byteLength,
      totalBytes: record.byteLength,
      resumedFromBytes: record.byteLength,
      bytesPerSecond: 0,
      secondsLeft: 0,
      done: true,
    });
    const store = this.store;
    return {
      name: record.url,
      byteLength: record.byteLength,
      from: 'cache',
      completed: Promise.resolve(),
      async read(offset, length) {
        checkReadRange(record.url, record.byteLength, offset, length);
        return store.read(record.url, offset, length);
      },
      async readInto(offset, target) {
        checkReadRange(record.url, record.byteLength, offset, target.byteLength);
        await readStoredInto(store, record.url, offset, target);
      },
    };
  }

  async #request(url: string, offset: number, record: CacheRecord | undefined, options: CacheOpenOptions) {
    const fetchFunction = this.#fetch ?? globalThis.fetch;
    const headers: Record<string, string> = { ...(options.headers ?? {}), Range: `bytes=${offset}-` };
    const validator = record?.etag ?? record?.lastModified;
    if (offset > 0 && validator !== undefined) headers['If-Range'] = validator;
    try {
      return await fetchFunction(url, { headers, ...(options.signal === undefined ? {} : { signal: options.signal }) });
    } catch (cause) {
      if (options.signal?.aborted === true) {
        throw new StrataError('ABORTED', `Loading ${url} was cancelled.`, { cause, details: { url } });
      }
      throw networkError(url, `Requesting bytes from ${offset} failed`, cause);
    }
  }

  async #download(url: string, previous: CacheRecord | undefined, options: CacheOpenOptions): Promise<CachedSource> {
    let stored = previous === undefined ? 0 : await this.store.storedBytes(url);
    const response = await this.#request(url, stored, previous, options);
    let total: number | undefined;
    let skipBytes = 0;
    let truncate = false;
    const etag = response.headers.get('etag') ?? undefined;
    const lastModified = response.headers.get('last-modified') ?? undefined;
    if (response.status === 206) {
      total = totalOfContentRange(response.headers.get('content-range'));
      if (startOfContentRange(response.headers.get('content-range')) !== stored) {
        await response.body?.cancel().catch(() => undefined);
        throw networkError(url, `The server answered a different range than bytes=${stored}-`);
      }
    } else if (response.status === 200) {
      const length = Number(response.headers.get('content-length') ?? Number.NaN);
      total = Number.isSafeInteger(length) ? length : undefined;
      // A full answer: the file changed (If-Range failed) or the server ignores ranges. Keep the stored prefix only when
      // the file is provably the same (same validator and size); otherwise start the entry over.
      const same =
        previous !== undefined &&
        total === previous.byteLength &&
        ((etag !== undefined && etag === previous.etag) ||
          (lastModified !== undefined && lastModified === previous.lastModified));
      if (same) skipBytes = stored;
      else {
        truncate = stored > 0;
        stored = 0;
      }
    } else if (response.status === 416 && previous !== undefined && stored === previous.byteLength) {
      total = previous.byteLength;
    } else {
      await response.body?.cancel().catch(() => undefined);
      throw networkError(url, `The server answered ${response.status}`, undefined, { status: response.status });
    }
    if (total === undefined) {
      await response.body?.cancel().catch(() => undefined);
      throw networkError(url, 'The server reported no file size');
    }
    const needed = total - stored;
    const available = await this.#available(url);
    if (available !== undefined && needed > available) {
      await response.body?.cancel().catch(() => undefined);
      const error = new StrataError(
        'STORAGE_QUOTA',
        `Caching ${url} needs ${needed} more bytes but the cache (${this.store.name}) has ${available}; free space (strata cache rm, or delete cached models) or load without caching.`,
        { details: { url, neededBytes: needed, availableBytes: available } },
      );
      if (options.allowUncached !== true) throw error;
      const source = await urlSource(url, {
        ...(this.#fetch === undefined ? {} : { fetch: this.#fetch }),
        ...(options.headers === undefined ? {} : { headers: options.headers }),
      });
      return {
        ...source,
        name: source.name,
        byteLength: source.byteLength,
        from: 'uncached',
        completed: Promise.resolve(),
      };
    }
    const base = truncate || previous === undefined ? {} : previous;
    const record: CacheRecord = {
      ...base,
      url,
      byteLength: total,
      complete: false,
      lastUsed: Date.now(),
      ...(etag === undefined ? {} : { etag }),
      ...(lastModified === undefined ? {} : { lastModified }),
    };
    await this.store.putRecord(record);
    const sha256 = options.sha256?.toLowerCase() ?? serverSha256(response.headers);
    const download = new CacheDownload({
      store: this.store,
      record,
      stored,
      response,
      skipBytes,
      truncate,
      sha256,
      retries: options.retries ?? 3,
      signal: options.signal,
      onProgress: options.onProgress,
      resume: async (offset) => {
        const next = await this.#request(url, offset, record, options);
        if (next.status !== 206 || startOfContentRange(next.headers.get('content-range')) !== offset) {
          await next.body?.cancel().catch(() => undefined);
          throw networkError(url, `Resuming at byte ${offset} answered ${next.status}`, undefined, {
            status: next.status,
          });
        }
        return next;
      },
    });
    this.#downloads.set(url, download);
    const forget = () => {
      if (this.#downloads.get(url) === download) this.#downloads.delete(url);
    };
    download.completed.then(forget, forget);
    const completed = download.completed.then(() => undefined);
    completed.catch(() => undefined);
    return {
      name: url,
      byteLength: total,
      from: 'network',
      completed,
      read: (offset, length) => download.read(offset, length),
      readInto: (offset, target) => download.readInto(offset, target),
    };
  }

  async #available(url: string): Promise<number | undefined> {
    const fromStore = await this.store.available();
    if (this.#budgetBytes === undefined) return fromStore;
    let used = 0;
    for (const record of await this.store.records()) {
      if (record.url !== url) used += await this.store.storedBytes(record.url);
    }
    const stored = await this.store.storedBytes(url);
    const fromBudget = Math.max(0, this.#budgetBytes - used - stored);
    return fromStore === undefined ? fromBudget : Math.min(fromStore, fromBudget);
  }
}
