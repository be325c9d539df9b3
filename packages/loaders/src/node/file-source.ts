import { open, readdir, readFile, stat } from 'node:fs/promises';
import { isAbsolute, join, normalize, sep } from 'node:path';
import { StrataError } from '@strata/core';
import { allocateBytes, type ByteSource, checkReadRange } from '../byte-source/byte-source.js';
import type { DirectorySource } from '../byte-source/directory-source.js';

function ioError(path: string, what: string, cause: unknown): StrataError {
  const code = (cause as { code?: unknown } | null)?.code;
  return new StrataError(
    'IO_ERROR',
    `Could not ${what} ${path}${typeof code === 'string' ? ` (${code})` : ''}; check the path and its permissions.`,
    {
      cause,
      details: { path },
    },
  );
}

function isMissing(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

type Handle = Awaited<ReturnType<typeof open>>;

/**
 * A ByteSource over a local file, read with positional reads. Reads in flight at the same time share one file handle,
 * which is closed when the last of them finishes: no handle outlives the reads (nothing to close), a thousand
 * concurrent tensor reads hold one descriptor, and nothing beyond the requested bytes is held in memory.
 */
export async function fileSource(path: string): Promise<ByteSource> {
  let byteLength: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) throw new StrataError('IO_ERROR', `${path} is not a file.`, { details: { path } });
    byteLength = info.size;
  } catch (error) {
    if (StrataError.isInstance(error)) throw error;
    throw ioError(path, 'open', error);
  }
  let shared: Promise<Handle> | undefined;
  let active = 0;
  const release = async (): Promise<void> => {
    active -= 1;
    if (active > 0 || shared === undefined) return;
    const closing = shared;
    shared = undefined;
    await closing.then(
      (handle) => handle.close(),
      () => undefined,
    );
  };
  const source: ByteSource = {
    name: path,
    byteLength,
    async read(offset, length) {
      checkReadRange(path, byteLength, offset, length);
      const bytes = allocateBytes(length, path);
      await readInto(offset, bytes);
      return bytes;
    },
    readInto: (offset, target) => {
      checkReadRange(path, byteLength, offset, target.byteLength);
      return readInto(offset, target);
    },
  };
  async function readInto(offset: number, bytes: Uint8Array): Promise<void> {
    const length = bytes.byteLength;
    if (length === 0) return;
    active += 1;
    shared ??= open(path, 'r');
    const pending = shared;
    try {
      const handle = await pending;
      let done = 0;
      while (done < length) {
        const { bytesRead } = await handle.read(bytes, done, length - done, offset + done);
        if (bytesRead === 0) break;
        done += bytesRead;
      }
      if (done < length) {
        throw new StrataError(
          'TRUNCATED_FILE',
          `${path} ended after ${offset + done} bytes while ${length} were read at ${offset}; it shrank while open.`,
          {
            details: { path, offset, length },
          },
        );
      }
    } catch (error) {
      if (StrataError.isInstance(error)) throw error;
      throw ioError(path, 'read', error);
    } finally {
      await release();
    }
  }
  return source;
}

/** A DirectorySource over a local folder. Names are relative paths inside it; one that leaves it is `INVALID_ARGUMENT`. */
export function directorySource(path: string): DirectorySource {
  const inside = (name: string): string => {
    const relative = normalize(name);
    if (isAbsolute(relative) || relative === '..' || relative.startsWith(`..${sep}`)) {
      throw new StrataError('INVALID_ARGUMENT', `'${name}' is not a file inside ${path}.`, { details: { path, name } });
    }
    return join(path, relative);
  };
  return {
    name: path,
    async readText(name) {
      try {
        return await readFile(inside(name), 'utf8');
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw StrataError.isInstance(error) ? error : ioError(join(path, name), 'read', error);
      }
    },
    async open(name) {
      try {
        return await fileSource(inside(name));
      } catch (error) {
        if (isMissing((error as { cause?: unknown }).cause)) return undefined;
        throw error;
      }
    },
    async list() {
      try {
        const entries = await readdir(path, { withFileTypes: true });
        return entries
          .filter((entry) => entry.isFile() || entry.isSymbolicLink())
          .map((entry) => entry.name)
          .sort();
      } catch (error) {
        throw ioError(path, 'list', error);
      }
    },
  };
}
