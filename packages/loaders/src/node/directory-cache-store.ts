import { mkdir, open, readdir, readFile, rename, rm, stat, statfs, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { StrataError } from '@strata/core';
import { allocateBytes } from '../byte-source/byte-source.js';
import { cacheKey } from '../cache/cache-key.js';
import type { CacheRecord, CacheWriter, ModelCacheStore } from '../cache/cache-store.js';
import { acquireEntryLock, type EntryLockTimings } from './entry-lock.js';

/** The cache directory: `$STRATA_CACHE`, else `~/.cache/strata`. */
export function defaultCacheDirectory(): string {
  const fromEnvironment = process.env.STRATA_CACHE;
  return fromEnvironment !== undefined && fromEnvironment !== ''
    ? fromEnvironment
    : join(homedir(), '.cache', 'strata');
}

function ioError(path: string, what: string, cause: unknown): StrataError {
  const code = (cause as { code?: unknown } | null)?.code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    return new StrataError('STORAGE_QUOTA', `The disk holding ${path} is full; free space or delete cached models.`, {
      cause,
      details: { path },
    });
  }
  return new StrataError(
    'IO_ERROR',
    `Could not ${what} ${path}${typeof code === 'string' ? ` (${code})` : ''}; check the cache directory's permissions.`,
    { cause, details: { path } },
  );
}

function isMissing(error: unknown): boolean {
  return (error as { code?: unknown } | null)?.code === 'ENOENT';
}

function isRecord(value: unknown): value is CacheRecord {
  const record = value as Partial<CacheRecord> | null;
  return (
    typeof record === 'object' &&
    record !== null &&
    typeof record.url === 'string' &&
    Number.isSafeInteger(record.byteLength) &&
    typeof record.complete === 'boolean' &&
    typeof record.lastUsed === 'number'
  );
}

/**
 * A {@link ModelCacheStore} in a directory (default {@link defaultCacheDirectory}): per URL, `KEY.json` holds the record
 * and `KEY.bin` the bytes, KEY being the SHA-256 of the URL. Records are replaced atomically (write, then rename); the
 * data file only grows by appends, so what is stored is always a prefix of the file. Processes sharing the directory
 * take turns on an entry through `KEY.lock` ({@link ModelCacheStore.lock}; `lockTimings` tune it).
 */
export function directoryCacheStore(
  directory: string = defaultCacheDirectory(),
  lockTimings: EntryLockTimings = {},
): ModelCacheStore {
  const recordPath = (url: string) => join(directory, `${cacheKey(url)}.json`);
  const dataPath = (url: string) => join(directory, `${cacheKey(url)}.bin`);
  const lockPath = (url: string) => join(directory, `${cacheKey(url)}.lock`);
  const ensure = async () => {
    try {
      await mkdir(directory, { recursive: true });
    } catch (cause) {
      throw ioError(directory, 'create', cause);
    }
  };
  const readRecord = async (path: string): Promise<CacheRecord | undefined> => {
    let text: string;
    try {
      text = await readFile(path, 'utf8');
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw ioError(path, 'read', error);
    }
    try {
      const value: unknown = JSON.parse(text);
      return isRecord(value) ? value : undefined;
    } catch {
      return undefined; // a damaged record reads as no entry; its data is replaced by the next download
    }
  };
  return {
    name: directory,
    async records() {
      let names: string[];
      try {
        names = await readdir(directory);
      } catch (error) {
        if (isMissing(error)) return [];
        throw ioError(directory, 'list', error);
      }
      const records = await Promise.all(
        names.filter((name) => name.endsWith('.json')).map((name) => readRecord(join(directory, name))),
      );
      return records.filter((record): record is CacheRecord => record !== undefined);
    },
    async record(url) {
      const record = await readRecord(recordPath(url));
      return record?.url === url ? record : undefined;
    },
    async putRecord(record) {
      await ensure();
      const path = recordPath(record.url);
      const temporary = `${path}.${process.pid}.tmp`;
      try {
        await writeFile(temporary, JSON.stringify(record));
        await rename(temporary, path);
      } catch (cause) {
        throw ioError(path, 'write', cause);
      }
    },
    async storedBytes(url) {
      try {
        return (await stat(dataPath(url))).size;
      } catch (error) {
        if (isMissing(error)) return 0;
        throw ioError(dataPath(url), 'read', error);
      }
    },
    async writer(url, options = {}): Promise<CacheWriter> {
      await ensure();
      const path = dataPath(url);
      let handle: Awaited<ReturnType<typeof open>>;
      try {
        handle = await open(path, options.truncate === true ? 'w' : 'a');
      } catch (cause) {
        throw ioError(path, 'open', cause);
      }
      let closed = false;
      return {
        async write(bytes) {
          try {
            let done = 0;
            while (done < bytes.byteLength) {
              done += (await handle.write(bytes, done, bytes.byteLength - done)).bytesWritten;
            }
          } catch (cause) {
            throw ioError(path, 'write', cause);
          }
        },
        async close() {
          if (closed) return;
          closed = true;
          await handle.close();
        },
      };
    },
    async read(url, offset, length) {
      const bytes = allocateBytes(length, url);
      await this.readInto?.(url, offset, bytes);
      return bytes;
    },
    async readInto(url, offset, bytes) {
      const path = dataPath(url);
      const length = bytes.byteLength;
      if (length === 0) return;
      let handle: Awaited<ReturnType<typeof open>> | undefined;
      try {
        handle = await open(path, 'r');
        let done = 0;
        while (done < length) {
          const { bytesRead } = await handle.read(bytes, done, length - done, offset + done);
          if (bytesRead === 0) break;
          done += bytesRead;
        }
        if (done < length) {
          throw new StrataError(
            'TRUNCATED_FILE',
            `The cached ${url} is shorter than expected; delete it and load again.`,
            {
              details: { url, path, offset, length },
            },
          );
        }
      } catch (error) {
        if (StrataError.isInstance(error)) throw error;
        throw ioError(path, 'read', error);
      } finally {
        await handle?.close();
      }
    },
    async remove(url) {
      const existed = (await readRecord(recordPath(url))) !== undefined || (await this.storedBytes(url)) > 0;
      try {
        await rm(recordPath(url), { force: true });
        await rm(dataPath(url), { force: true });
      } catch (cause) {
        throw ioError(directory, 'delete in', cause);
      }
      return existed;
    },
    async lock(url, options = {}) {
      await ensure();
      // A holder that is downloading makes progress: the entry's data grows. A waiter gives up only when it stops.
      const timings = options.timeoutMs === undefined ? lockTimings : { ...lockTimings, timeoutMs: options.timeoutMs };
      return acquireEntryLock(
        lockPath(url),
        { ...timings, ...(options.signal === undefined ? {} : { signal: options.signal }) },
        () => this.storedBytes(url),
      );
    },
    async available() {
      try {
        await ensure();
        const info = await statfs(directory);
        return info.bavail * info.bsize;
      } catch {
        return undefined;
      }
    },
  };
}
