import { open } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { StrataError } from '@strata/core';
import type { ByteSource } from '../byte-source/byte-source.js';
import { type GgufFile, ggufShardNames, openGguf } from '../gguf/gguf-file.js';
import { type GgufWriteSpec, writeGgufTo } from '../gguf/gguf-writer.js';
import { fileSource } from './file-source.js';

/**
 * Opens a local GGUF file. Given the first shard of a split model (`name-00001-of-00003.gguf`), opens every shard.
 */
export async function openGgufFile(path: string): Promise<GgufFile> {
  const shardNames = ggufShardNames(basename(path));
  if (shardNames === undefined || shardNames.length === 1) return openGguf(await fileSource(path));
  if (shardNames[0] !== basename(path)) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `${path} is not the first shard of its split model; open ${shardNames[0]} instead.`,
      { details: { path } },
    );
  }
  const sources: ByteSource[] = [];
  for (const name of shardNames) sources.push(await fileSource(join(dirname(path), name)));
  return openGguf(sources);
}

/** Writes a GGUF file to `path` chunk by chunk (tensor data may be streamed); resolves to the number of bytes written. */
export async function writeGgufFile(path: string, spec: GgufWriteSpec): Promise<number> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'w');
  } catch (cause) {
    throw new StrataError('IO_ERROR', `Could not create ${path}; check the folder exists and is writable.`, {
      cause,
      details: { path },
    });
  }
  try {
    return await writeGgufTo(spec, async (chunk) => {
      let done = 0;
      while (done < chunk.byteLength) {
        const { bytesWritten } = await handle.write(chunk, done, chunk.byteLength - done);
        done += bytesWritten;
      }
    });
  } finally {
    await handle.close();
  }
}
