/** What a {@link ModelCacheStore} keeps about one cached URL, beside its bytes. */
export interface CacheRecord {
  /** The URL the bytes came from (the cache key). */
  readonly url: string;
  /** The file's full size, as the server reported it. */
  readonly byteLength: number;
  /** True once every byte is stored and verified (size, and SHA-256 when one was known); never true for a partial file. */
  readonly complete: boolean;
  /** When the entry was last read or written (milliseconds since the epoch). */
  readonly lastUsed: number;
  /** The SHA-256 (lowercase hex) the bytes were verified against, when the caller or the server gave one. */
  readonly sha256?: string;
  /** The server's `ETag`, sent back as `If-Range` when a partial download resumes. */
  readonly etag?: string;
  /** The server's `Last-Modified`, the `If-Range` validator when there is no ETag. */
  readonly lastModified?: string;
}

/** Appends bytes to the end of one entry's stored data. */
export interface CacheWriter {
  /** Appends `bytes` (rejects with `STORAGE_QUOTA` when the storage is full). */
  write(bytes: Uint8Array): Promise<void>;
  /** Flushes and releases the writer; the bytes written so far stay stored. */
  close(): Promise<void>;
}

/** The exclusive use of one cache entry, across processes, until released. */
export interface CacheEntryLock {
  /** Gives the entry up (once; later calls do nothing). */
  release(): Promise<void>;
}

/** Options of {@link ModelCacheStore.lock}. */
export interface CacheLockOptions {
  /** Stops waiting (`ABORTED`). */
  readonly signal?: AbortSignal;
  /** How long to wait while the holder makes no progress before `CACHE_LOCKED` (the store's default otherwise). */
  readonly timeoutMs?: number;
}

/**
 * Where a {@link ModelCache} keeps records and bytes: a directory in Node (`directoryCacheStore` from
 * `@strata/loaders/node`), the Origin Private File System or the Cache API in browsers. A store knows nothing of HTTP or
 * verification; the cache does that once for every store.
 */
export interface ModelCacheStore {
  /** Where the store lives, for messages (a path, `OPFS`, `Cache API`). */
  readonly name: string;
  /** Every record, complete or partial. */
  records(): Promise<CacheRecord[]>;
  /** The record of `url`, or undefined. */
  record(url: string): Promise<CacheRecord | undefined>;
  /** Writes (replaces) the record of `record.url`. */
  putRecord(record: CacheRecord): Promise<void>;
  /** How many bytes of `url`'s data are stored (0 when none). */
  storedBytes(url: string): Promise<number>;
  /** A writer appending to `url`'s data; with `truncate`, the data is emptied first. */
  writer(url: string, options?: { readonly truncate?: boolean }): Promise<CacheWriter>;
  /** Reads `length` stored bytes of `url` at `offset` (the range must be stored). */
  read(url: string, offset: number, length: number): Promise<Uint8Array>;
  /** Fills `target` with stored bytes of `url` at `offset`, allocating nothing (stores that can; else `read`). */
  readInto?(url: string, offset: number, target: Uint8Array): Promise<void>;
  /** Removes `url`'s record and data; resolves to whether anything was there. */
  remove(url: string): Promise<boolean>;
  /** Bytes the store may still take (free disk, the browser's quota left); undefined when unknown. */
  available(): Promise<number | undefined>;
  /**
   * Waits for the exclusive use of `url`'s entry among every process sharing the store (the directory store: a lock
   * file), so that two of them never download or write the same entry at once. Stores used by one process only may
   * leave it out. Rejects with `CACHE_LOCKED` when the holder makes no progress for the timeout, `ABORTED` on `signal`.
   */
  lock?(url: string, options?: CacheLockOptions): Promise<CacheEntryLock>;
}
