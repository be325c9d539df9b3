import { StrataError } from '@strata/core';
import {
  type CacheProgress,
  type GgufFile,
  isModelUrl,
  ModelCache,
  type ModelFiles,
  openModelUrl,
  resolveModelUrl,
} from '@strata/loaders';
import { defaultCacheDirectory, directoryCacheStore, openGgufFile, openModelFiles } from '@strata/loaders/node';
import type { CommandOutput } from '../command.js';

/** The CLI's model cache: `$STRATA_CACHE`, else `~/.cache/strata`. */
export function cliModelCache(): ModelCache {
  return new ModelCache(directoryCacheStore(defaultCacheDirectory()));
}

/** Options of {@link openModelArgument}. */
export interface OpenModelArgumentOptions {
  /** Called as bytes are downloaded (or found in the cache). */
  readonly onDownload?: (progress: CacheProgress) => void;
  /** Only headers will be read: a model not in the cache is read with range requests and not stored. */
  readonly metadataOnly?: boolean;
}

/** A MODEL argument opened: its files, and when every downloaded byte is stored and verified. */
export interface OpenedModelArgument {
  /** The model's files. */
  readonly files: ModelFiles;
  /** Resolves once downloads (if any) are complete and verified; await it after loading. */
  readonly completed: Promise<void>;
}

function sizeOf(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${(bytes / 2 ** 10).toFixed(1)} KiB`;
}

/** One line describing a download (`from cache`, or bytes, speed and time left). */
export function downloadLine(progress: CacheProgress): string {
  if (progress.from === 'cache') return `from cache (${sizeOf(progress.totalBytes)})`;
  const resumed = progress.resumedFromBytes > 0 ? `, resumed at ${sizeOf(progress.resumedFromBytes)}` : '';
  const left = progress.secondsLeft === undefined ? '' : ` · ${Math.ceil(progress.secondsLeft)} s left`;
  return `download ${sizeOf(progress.loadedBytes)}/${sizeOf(progress.totalBytes)}${resumed} · ${sizeOf(progress.bytesPerSecond)}/s${left}`;
}

/**
 * Opens a MODEL argument: a local path (a GGUF file, the first shard of a split GGUF, a Hugging Face directory) or a
 * URL / `hf://` path, loaded through the CLI's cache (complete files come from disk with no request; partial ones
 * resume). When the cache is full the model is read from the network uncached, with a note on stderr.
 */
export async function openModelArgument(
  model: string,
  output: CommandOutput,
  options: OpenModelArgumentOptions = {},
): Promise<OpenedModelArgument> {
  if (!isModelUrl(model)) return { files: await openModelFiles(model), completed: Promise.resolve() };
  const cache = cliModelCache();
  const onDownload = options.onDownload;
  if (options.metadataOnly === true) {
    const target = resolveModelUrl(model);
    // Reading headers needs a few range requests; downloading a whole model for that would be a waste.
    if (target.kind === 'folder' || !(await cache.has(target.url))) return openModelUrl(model);
  }
  const opened = await openModelUrl(model, {
    cache,
    allowUncached: true,
    ...(onDownload === undefined ? {} : { onProgress: onDownload }),
  });
  if (opened.from === 'uncached') {
    output.error(`strata: the cache (${defaultCacheDirectory()}) has no room for ${model}; reading it uncached.\n`);
  }
  return opened;
}

/** Opens a MODEL argument that must be GGUF (a path or a URL); `INVALID_ARGUMENT` for a Hugging Face folder URL. */
export async function openGgufArgument(model: string, output?: CommandOutput): Promise<GgufFile> {
  if (!isModelUrl(model)) return openGgufFile(model);
  const { files, completed } = await openModelArgument(model, output ?? { out: () => {}, error: () => {} });
  if (files.format !== 'gguf') {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `${model} is a Hugging Face folder; this command needs a .gguf URL here.`,
    );
  }
  await completed;
  return files.gguf;
}
