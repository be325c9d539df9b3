import { StrataError } from '@strata/core';
import type { ByteSource } from '../byte-source/byte-source.js';
import type { DirectorySource } from '../byte-source/directory-source.js';
import { urlSource } from '../byte-source/url-source.js';
import { ggufShardNames } from '../gguf/gguf-file.js';
import { type ModelFiles, openModel } from '../model-files.js';
import { parseSafetensorsIndex } from '../safetensors/safetensors-index.js';
import type { CacheProgress } from './cache-download.js';
import type { CacheOpenOptions, CachedSource, ModelCache } from './model-cache.js';
import { resolveModelUrl } from './model-url.js';

/** Options of {@link openModelUrl}. */
export interface OpenModelUrlOptions extends Omit<CacheOpenOptions, 'sha256' | 'onProgress'> {
  /** Where files are kept across loads; without one every byte comes from the network with range requests. */
  readonly cache?: ModelCache;
  /** Called as the model's bytes arrive: the sums over its files, named by the model's URL. */
  readonly onProgress?: (progress: CacheProgress) => void;
  /** The fetch to use without a cache (a cache has its own). */
  readonly fetch?: typeof fetch;
  /** Where `hf://` paths resolve (default `https://huggingface.co`). */
  readonly hub?: string;
}

/** A model opened by URL: its files, and when every byte of them is stored (and verified) in the cache. */
export interface OpenedModelUrl {
  /** The opened model, ready for `loadModel` / `loadTextPipeline`. */
  readonly files: ModelFiles;
  /** The URLs of every file the model is made of. */
  readonly urls: readonly string[];
  /** Where the bytes come from: `cache` when every file was stored complete, else `network` (or `uncached`). */
  readonly from: 'cache' | 'network' | 'uncached';
  /** Resolves once every file is stored and verified; rejects when a download fails. Await it after loading. */
  readonly completed: Promise<void>;
}

/** The Hugging Face folder files read when present, besides the weights. */
const FOLDER_TEXT_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'chat_template.json',
  'chat_template.jinja',
];
const INDEX_FILE = 'model.safetensors.index.json';

function isAbsent(error: unknown): boolean {
  return (
    StrataError.isInstance(error, 'NETWORK_ERROR') && (error.details.status === 404 || error.details.status === 410)
  );
}

/**
 * Opens a model by URL: a GGUF file (`…/model.gguf`; given the first shard of a split model, every shard), a Hugging
 * Face folder (`…/resolve/main/`: config.json, tokenizer files and safetensors weights with their index), or an
 * `hf://owner/repo[/file.gguf]` path. With a cache, complete files are read from storage without the network (a
 * folder's list of files is cached too), partial ones resume, and new ones stream into storage while the model loads.
 */
export async function openModelUrl(text: string, options: OpenModelUrlOptions = {}): Promise<OpenedModelUrl> {
  const target = resolveModelUrl(text, options.hub);
  const progress = new Map<string, CacheProgress>();
  const started = performance.now();
  const report = (file: CacheProgress) => {
    progress.set(file.url, file);
    if (options.onProgress === undefined) return;
    let loadedBytes = 0;
    let totalBytes = 0;
    let resumedFromBytes = 0;
    let done = true;
    let network = false;
    for (const each of progress.values()) {
      loadedBytes += each.loadedBytes;
      totalBytes += each.totalBytes;
      resumedFromBytes += each.resumedFromBytes;
      done &&= each.done;
      network ||= each.from === 'network';
    }
    const seconds = (performance.now() - started) / 1000;
    const bytesPerSecond = network && seconds > 0 ? (loadedBytes - resumedFromBytes) / seconds : 0;
    options.onProgress({
      url: target.url,
      from: network ? 'network' : 'cache',
      loadedBytes,
      totalBytes,
      resumedFromBytes,
      bytesPerSecond,
      secondsLeft: bytesPerSecond > 0 ? (totalBytes - loadedBytes) / bytesPerSecond : undefined,
      done: done && loadedBytes === totalBytes,
    });
  };
  const opened: CachedSource[] = [];
  const open = async (url: string): Promise<CachedSource> => {
    let source: CachedSource;
    if (options.cache === undefined) {
      const plain: ByteSource = await urlSource(url, {
        ...(options.fetch === undefined ? {} : { fetch: options.fetch }),
        ...(options.headers === undefined ? {} : { headers: options.headers }),
      });
      source = {
        ...plain,
        name: plain.name,
        byteLength: plain.byteLength,
        from: 'uncached',
        completed: Promise.resolve(),
      };
    } else {
      const { cache: _cache, hub: _hub, fetch: _fetch, onProgress: _onProgress, ...openOptions } = options;
      source = await options.cache.open(url, { ...openOptions, onProgress: report });
    }
    opened.push(source);
    return source;
  };

  let files: ModelFiles;
  if (target.kind === 'gguf') {
    const fileName = decodeURIComponent(target.url.slice(target.url.lastIndexOf('/') + 1));
    const shards = ggufShardNames(fileName);
    if (shards !== undefined && shards.length > 1 && shards[0] !== fileName) {
      throw new StrataError(
        'INVALID_ARGUMENT',
        `${text} is not the first shard of its split model; open ${shards[0]} instead.`,
        {
          details: { url: text },
        },
      );
    }
    const base = target.url.slice(0, target.url.lastIndexOf('/') + 1);
    const urls = shards === undefined ? [target.url] : shards.map((name) => `${base}${encodeURIComponent(name)}`);
    const sources: ByteSource[] = [];
    for (const url of urls) sources.push(await open(url));
    files = await openModel(sources.length === 1 ? (sources[0] as ByteSource) : sources);
  } else {
    files = await openModel(await folderSource(target.url, options.cache, open));
  }
  const completed = Promise.all(opened.map((source) => source.completed)).then(() => undefined);
  completed.catch(() => undefined);
  const from = opened.every((source) => source.from === 'cache')
    ? 'cache'
    : opened.some((source) => source.from === 'network')
      ? 'network'
      : 'uncached';
  return { files, urls: opened.map((source) => source.name), from, completed };
}

async function textOf(source: CachedSource): Promise<string> {
  const bytes = await source.read(0, source.byteLength);
  await source.completed;
  return new TextDecoder('utf-8').decode(bytes);
}

/**
 * A DirectorySource over a Hugging Face folder by URL. HTTP cannot list a folder, so the known file names are tried
 * (a 404 means absent) and the list is cached under `BASE#files` so that a later load needs no network.
 */
async function folderSource(
  base: string,
  cache: ModelCache | undefined,
  open: (url: string) => Promise<CachedSource>,
): Promise<DirectorySource> {
  const manifestUrl = `${base}#files`;
  const texts = new Map<string, string>();
  const tryText = async (name: string): Promise<string | undefined> => {
    try {
      const text = await textOf(await open(`${base}${name}`));
      texts.set(name, text);
      return text;
    } catch (error) {
      if (isAbsent(error)) return undefined;
      throw error;
    }
  };
  let names: string[] | undefined;
  if (cache !== undefined && (await cache.has(manifestUrl))) {
    const manifest = await cache.open(manifestUrl);
    const parsed: unknown = JSON.parse(await textOf(manifest));
    if (Array.isArray(parsed) && parsed.every((name) => typeof name === 'string')) names = parsed;
  }
  if (names === undefined) {
    const found = await Promise.all(
      FOLDER_TEXT_FILES.map(async (name) => ((await tryText(name)) === undefined ? [] : [name])),
    );
    names = found.flat();
    const index = await tryText(INDEX_FILE);
    names.push(
      ...(index === undefined
        ? ['model.safetensors']
        : [INDEX_FILE, ...parseSafetensorsIndex(index, INDEX_FILE).files]),
    );
    await cache?.put(manifestUrl, new TextEncoder().encode(JSON.stringify(names)));
  }
  const listed = new Set(names);
  return {
    name: base,
    async readText(name) {
      if (!listed.has(name)) return undefined;
      return texts.get(name) ?? (await tryText(name));
    },
    async open(name) {
      return listed.has(name) ? open(`${base}${name.split('/').map(encodeURIComponent).join('/')}`) : undefined;
    },
    async list() {
      return [...listed];
    },
  };
}
