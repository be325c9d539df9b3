import { StrataError } from '@strata/core';
import { cacheKey } from './cache-key.js';
import type { CacheRecord, CacheWriter, ModelCacheStore } from './cache-store.js';

/** The synchronous OPFS file handle of dedicated workers (not in TypeScript's DOM library). */
interface SyncAccessHandle {
  read(buffer: Uint8Array, options: { at: number }): number;
  write(buffer: Uint8Array, options: { at: number }): number;
  truncate(size: number): void;
  getSize(): number;
  flush(): void;
  close(): void;
}

interface SyncFileHandle extends FileSystemFileHandle {
  createSyncAccessHandle(): Promise<SyncAccessHandle>;
}

interface IterableDirectory extends FileSystemDirectoryHandle {
  keys(): AsyncIterable<string>;
}

/** Whether this context can write OPFS files in place (a dedicated worker with `createSyncAccessHandle`). */
export function canWriteOpfs(): boolean {
  return (
    typeof navigator !== 'undefined' &&
    typeof navigator.storage?.getDirectory === 'function' &&
    typeof FileSystemFileHandle !== 'undefined' &&
    'createSyncAccessHandle' in FileSystemFileHandle.prototype
  );
}

/** Turns a browser storage failure into `STORAGE_QUOTA` (quota exceeded) or `IO_ERROR`. */
export function storageError(what: string, cause: unknown): StrataError {
  const name = (cause as { name?: unknown } | null)?.name;
  if (name === 'QuotaExceededError') {
    return new StrataError(
      'STORAGE_QUOTA',
      `The browser's storage quota is used up while ${what}; delete cached models.`,
      {
        cause,
      },
    );
  }
  return new StrataError('IO_ERROR', `Browser storage failed while ${what}.`, { cause });
}

function isMissing(error: unknown): boolean {
  return (error as { name?: unknown } | null)?.name === 'NotFoundError';
}

/**
 * A {@link ModelCacheStore} in the Origin Private File System, folder `strata-cache`: per URL, `KEY.json` (the record)
 * and `KEY.bin` (the bytes). Data is written in place through `createSyncAccessHandle`, which browsers offer only in
 * dedicated workers: open the cache where the model loads (a Worker). Reads during a download go through the same handle.
 */
export function opfsCacheStore(folder = 'strata-cache'): ModelCacheStore {
  let root: Promise<FileSystemDirectoryHandle> | undefined;
  const directory = () => {
    root ??= navigator.storage.getDirectory().then((top) => top.getDirectoryHandle(folder, { create: true }));
    return root;
  };
  /** Open sync handles by URL (one per file at most: the handle locks the file). */
  const handles = new Map<string, { handle: SyncAccessHandle; users: number }>();
  const acquire = async (url: string): Promise<SyncAccessHandle> => {
    const open = handles.get(url);
    if (open !== undefined) {
      open.users += 1;
      return open.handle;
    }
    const file = (await (await directory()).getFileHandle(`${cacheKey(url)}.bin`, { create: true })) as SyncFileHandle;
    const again = handles.get(url);
    if (again !== undefined) {
      again.users += 1;
      return again.handle;
    }
    const handle = await file.createSyncAccessHandle();
    handles.set(url, { handle, users: 1 });
    return handle;
  };
  const release = (url: string) => {
    const open = handles.get(url);
    if (open === undefined) return;
    open.users -= 1;
    if (open.users > 0) return;
    handles.delete(url);
    open.handle.flush();
    open.handle.close();
  };
  const readRecord = async (name: string): Promise<CacheRecord | undefined> => {
    try {
      const file = await (await (await directory()).getFileHandle(name)).getFile();
      const value = JSON.parse(await file.text()) as CacheRecord;
      return typeof value?.url === 'string' && Number.isSafeInteger(value.byteLength) ? value : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    name: 'OPFS',
    async records() {
      const records: CacheRecord[] = [];
      const folderHandle = (await directory()) as IterableDirectory;
      for await (const name of folderHandle.keys()) {
        if (!name.endsWith('.json')) continue;
        const record = await readRecord(name);
        if (record !== undefined) records.push(record);
      }
      return records;
    },
    async record(url) {
      const record = await readRecord(`${cacheKey(url)}.json`);
      return record?.url === url ? record : undefined;
    },
    async putRecord(record) {
      try {
        const file = await (await directory()).getFileHandle(`${cacheKey(record.url)}.json`, { create: true });
        const writable = await file.createWritable();
        await writable.write(JSON.stringify(record));
        await writable.close();
      } catch (cause) {
        throw storageError(`recording ${record.url}`, cause);
      }
    },
    async storedBytes(url) {
      const open = handles.get(url);
      if (open !== undefined) return open.handle.getSize();
      try {
        return (await (await (await directory()).getFileHandle(`${cacheKey(url)}.bin`)).getFile()).size;
      } catch (error) {
        if (isMissing(error)) return 0;
        throw storageError(`reading ${url}`, error);
      }
    },
    async writer(url, options = {}): Promise<CacheWriter> {
      if (!canWriteOpfs()) {
        throw new StrataError(
          'IO_ERROR',
          'OPFS files can be written only from a dedicated Worker here; open the model cache in the Worker that loads the model.',
        );
      }
      const handle = await acquire(url);
      if (options.truncate === true) handle.truncate(0);
      let closed = false;
      return {
        async write(bytes) {
          try {
            let done = 0;
            while (done < bytes.byteLength) {
              done += handle.write(bytes.subarray(done), { at: handle.getSize() });
            }
          } catch (cause) {
            throw storageError(`storing ${url}`, cause);
          }
        },
        async close() {
          if (closed) return;
          closed = true;
          release(url);
        },
      };
    },
    async readInto(url, offset, target) {
      const readWith = (handle: SyncAccessHandle) => {
        const read = handle.read(target, { at: offset });
        if (read !== target.byteLength) {
          throw storageError(`reading ${url}`, new Error(`read ${read} of ${target.byteLength} bytes at ${offset}`));
        }
      };
      const open = handles.get(url);
      if (open !== undefined) return readWith(open.handle);
      // In a dedicated worker the file is read in place through a sync handle, open for this read only; where that
      // cannot be had (another tab holds the file), through a Blob and a copy.
      const handle = canWriteOpfs() ? await acquire(url).catch(() => undefined) : undefined;
      if (handle === undefined) {
        target.set(await this.read(url, offset, target.byteLength));
        return;
      }
      try {
        readWith(handle);
      } finally {
        release(url);
      }
    },
    async read(url, offset, length) {
      const open = handles.get(url);
      if (open !== undefined) {
        const bytes = new Uint8Array(length);
        const read = open.handle.read(bytes, { at: offset });
        if (read !== length) throw storageError(`reading ${url}`, new Error(`read ${read} of ${length} bytes`));
        return bytes;
      }
      try {
        const file = await (await (await directory()).getFileHandle(`${cacheKey(url)}.bin`)).getFile();
        // The Blob's own buffer is the result: one copy of the bytes, not two.
        const bytes = new Uint8Array(await file.slice(offset, offset + length).arrayBuffer());
        if (bytes.byteLength !== length) {
          throw new Error(`read ${bytes.byteLength} of ${length} bytes at ${offset}`);
        }
        return bytes;
      } catch (cause) {
        throw storageError(`reading ${url}`, cause);
      }
    },
    async remove(url) {
      const key = cacheKey(url);
      let existed = false;
      for (const name of [`${key}.json`, `${key}.bin`]) {
        try {
          await (await directory()).removeEntry(name);
          existed = true;
        } catch (error) {
          if (!isMissing(error)) throw storageError(`deleting ${url}`, error);
        }
      }
      return existed;
    },
    async available() {
      const estimate = await navigator.storage.estimate();
      return estimate.quota === undefined ? undefined : Math.max(0, estimate.quota - (estimate.usage ?? 0));
    },
  };
}
