/**
 * The model worker: owns the WebGPU backend and the loaded model's scheduler, and hosts the OpenAI-shaped API over it
 * (`OpenAICompatibleApi`), so that loading and generating never block the page. Loading and the model cache speak the
 * messages of `protocol.ts`; completions go through the API unchanged (`openai-worker-host.ts`).
 */
import { StrataError } from '@strata/core';
import {
  compileKernelsAhead,
  createWebGpuBackend,
  kernelManifest,
  parseKernelManifest,
  type WebGpuBackend,
} from '@strata/kernels-webgpu';
import { browserModelCache, type ModelCache, type ModelFiles, openModel, openModelUrl } from '@strata/loaders';
import { loadScheduler, OpenAICompatibleApi, type Scheduler } from '@strata/pipeline';
import { pickedModel } from './model-source.js';
import { hostOpenAIApi } from './openai-worker-host.js';
import type { ModelInfo, WorkerEvent, WorkerRequest } from './protocol.js';

/** The part of the worker's global scope used here (the root tsconfig has DOM types, not WebWorker's). */
interface WorkerScope {
  postMessage(message: WorkerEvent): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<WorkerRequest>) => void): void;
}

const scope = globalThis as unknown as WorkerScope;
let backend: WebGpuBackend | undefined;
let scheduler: Scheduler | undefined;
/** The API over the loaded model; undefined until a model is loaded and warmed up. */
let api: OpenAICompatibleApi | undefined;
let loading: AbortController | undefined;
let modelCache: ModelCache | undefined;
const serveApi = hostOpenAIApi(() => api, post);

/** The model cache (OPFS in this worker), opened on first use: nothing touches storage until a URL is loaded or listed. */
function cache(): ModelCache {
  modelCache ??= browserModelCache();
  return modelCache;
}

/** Where the kernels a model used are kept, beside its file in the cache. */
const kernelsKey = (url: string) => `${url}#kernels`;

async function postCache(): Promise<void> {
  const entries = await cache().list();
  post({ type: 'cache', entries, totalBytes: await cache().totalSize() });
}

function post(event: WorkerEvent): void {
  scope.postMessage(event);
}

function describeError(error: unknown): Extract<WorkerEvent, { type: 'error' }> {
  const code = StrataError.isInstance(error) ? error.code : 'ERROR';
  const message = error instanceof Error ? error.message : String(error);
  return { type: 'error', code, message };
}

function adapterName(device: GPUDevice): string {
  const info = (device as GPUDevice & { adapterInfo?: GPUAdapterInfo }).adapterInfo;
  if (info === undefined) return 'WebGPU';
  const parts = [info.vendor, info.architecture, info.device, info.description].filter((part) => part !== '');
  return parts.length === 0 ? 'WebGPU' : parts.join(' · ');
}

async function load(files: readonly File[], contextLength: number): Promise<void> {
  const started = performance.now();
  // The new files are opened (headers only) before the loaded model is let go: a pick that is no model keeps it.
  const picked = pickedModel(files);
  const opened = await openModel(picked.source);
  await loadOpened(opened, { name: picked.name, from: 'disk' }, contextLength, started);
}

async function loadUrl(url: string, contextLength: number): Promise<void> {
  const started = performance.now();
  loading?.abort();
  const controller = new AbortController();
  loading = controller;
  try {
    const opened = await openModelUrl(url, {
      cache: cache(),
      allowUncached: true, // storage full: load from the network anyway (the model info says it was not kept)
      signal: controller.signal,
      onProgress: (progress) => post({ type: 'download', progress }),
    });
    const name = decodeURIComponent(
      url
        .replace(/[#?].*$/, '')
        .replace(/\/$/, '')
        .split('/')
        .pop() ?? url,
    );
    await loadOpened(opened.files, { name, url, from: opened.from }, contextLength, started, opened.completed);
  } finally {
    if (loading === controller) loading = undefined;
  }
}

/** The context the model was trained for, from its files (GGUF `ARCH.context_length`, config.json's positions). */
function trainedContextLength(opened: ModelFiles): number | undefined {
  if (opened.format === 'gguf') {
    return opened.architecture === undefined
      ? undefined
      : opened.metadata.findInteger(`${opened.architecture}.context_length`);
  }
  const value = opened.config.max_position_embeddings ?? opened.config.n_positions;
  return typeof value === 'number' ? value : undefined;
}

/** The kernels the model used last time (saved after its warm-up), compiled while its weights load. */
async function compileSavedKernels(gpu: WebGpuBackend, url: string | undefined): Promise<number> {
  if (url === undefined || !(await cache().has(kernelsKey(url)))) return 0;
  const source = await cache().open(kernelsKey(url));
  const manifest = parseKernelManifest(new TextDecoder().decode(await source.read(0, source.byteLength)));
  return compileKernelsAhead(gpu, manifest);
}

async function loadOpened(
  opened: ModelFiles,
  origin: { readonly name: string; readonly url?: string; readonly from: NonNullable<ModelInfo['from']> },
  contextLength: number,
  started: number,
  completed: Promise<void> = Promise.resolve(),
): Promise<void> {
  backend ??= await createWebGpuBackend();
  const gpu = backend;
  const ahead = compileSavedKernels(gpu, origin.url).catch(() => 0);
  // The model in use is let go first (its requests end with ABORTED): two models need not fit in memory at once.
  const previous = scheduler;
  scheduler = undefined;
  api = undefined;
  await previous?.close('Another model is being loaded.');
  let bytes = 0;
  for (const entry of opened.tensors.tensors.values()) bytes += entry.byteLength;
  // One sequence at a time (one person's tab): the KV memory is one context, shared with the prefix cache.
  const loaded = await loadScheduler(opened, {
    backend,
    contextLength,
    parallel: 1,
    onProgress: (progress) => post({ type: 'progress', progress }),
  });
  scheduler = loaded;
  await completed;
  const kernelsCompiledAhead = await ahead;
  const uploaded = performance.now();
  post({ type: 'warming-up' });
  // A 16-token prompt (a many-row prefill: the tiled products) and two generated tokens (one-row decode steps) run
  // the kernels most requests use once, so their pipelines are compiled before the user's first request.
  const warmUpPrompt = new Array<number>(Math.min(16, loaded.contextLength - 2)).fill(0);
  await loaded.submit(warmUpPrompt, { maxTokens: 2, ignoreEndOfGeneration: true }).result;
  // One sampled token compiles the sampling kernels (temperature, top-k, top-p) too.
  await loaded.submit([0], { maxTokens: 1, temperature: 1, topK: 40, topP: 0.95, seed: 0 }).result;
  if (origin.url !== undefined && origin.from !== 'uncached') {
    const manifest = new TextEncoder().encode(JSON.stringify(kernelManifest(gpu)));
    await cache()
      .put(kernelsKey(origin.url), manifest)
      .catch(() => undefined); // a full cache only costs the next start its head start
  }
  const info: ModelInfo = {
    name: origin.name,
    ...(origin.url === undefined ? {} : { url: origin.url }),
    from: origin.from,
    maxContextLength: trainedContextLength(opened) ?? loaded.contextLength,
    kernelsCompiledAhead,
    format: opened.format,
    architecture: opened.architecture ?? 'unknown',
    contextLength: loaded.contextLength,
    vocabularySize: loaded.vocabularySize,
    tensors: opened.tensors.tensors.size,
    bytes,
    hasChatTemplate: loaded.chatTemplate !== undefined,
    adapter: adapterName(gpu.device),
    loadMs: uploaded - started,
    warmUpMs: performance.now() - uploaded,
  };
  api = new OpenAICompatibleApi([{ name: origin.name, scheduler: loaded }]);
  post({ type: 'loaded', info });
}

scope.addEventListener('message', (event) => {
  const request = event.data;
  switch (request.type) {
    case 'load':
      load(request.files, request.contextLength).catch((error) =>
        post({ ...describeError(error), modelKept: api !== undefined }),
      );
      break;
    case 'load-url':
      loadUrl(request.url, request.contextLength).catch((error) =>
        post({ ...describeError(error), modelKept: api !== undefined }),
      );
      break;
    case 'cache-list':
      postCache().catch((error) => post({ ...describeError(error), cache: true }));
      break;
    case 'cache-delete':
      Promise.all([cache().delete(request.url), cache().delete(kernelsKey(request.url))])
        .then(postCache)
        .catch((error) => post({ ...describeError(error), cache: true }));
      break;
    case 'cancel-load':
      loading?.abort(); // a download stops; its bytes stay in the cache and the next load resumes there
      break;
    case 'api':
    case 'api-abort':
      serveApi(request);
      break;
  }
});
