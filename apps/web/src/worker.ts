/**
 * The model worker: owns the WebGPU backend and the loaded pipeline, so that loading and generating never block the
 * page. It answers the messages of `protocol.ts`; one request runs at a time (the pipeline queues the rest).
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
import { type GenerateOptions, type Generation, TextPipeline } from '@strata/pipeline';
import { pickedModel } from './model-source.js';
import { streamChatCompletion } from './worker-chat.js';
import type { ModelInfo, RequestOptions, WorkerEvent, WorkerRequest } from './protocol.js';

/** The part of the worker's global scope used here (the root tsconfig has DOM types, not WebWorker's). */
interface WorkerScope {
  postMessage(message: WorkerEvent): void;
  addEventListener(type: 'message', listener: (event: MessageEvent<WorkerRequest>) => void): void;
}

const scope = globalThis as unknown as WorkerScope;
let backend: WebGpuBackend | undefined;
let pipeline: TextPipeline | undefined;
let running: AbortController | undefined;
let loading: AbortController | undefined;
let modelCache: ModelCache | undefined;

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

function describeError(error: unknown, id?: number): Extract<WorkerEvent, { type: 'error' }> {
  const code = StrataError.isInstance(error) ? error.code : 'ERROR';
  const message = error instanceof Error ? error.message : String(error);
  return { type: 'error', code, message, ...(id === undefined ? {} : { id }) };
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

/** The kernels the model used last time (saved after its warm-up), compiled while its weights load. */
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
  running?.abort();
  const previous = pipeline;
  pipeline = undefined;
  await previous?.dispose();
  let bytes = 0;
  for (const entry of opened.tensors.tensors.values()) bytes += entry.byteLength;
  pipeline = await TextPipeline.load(opened, {
    backend,
    contextLength,
    onProgress: (progress) => post({ type: 'progress', progress }),
  });
  await completed;
  const kernelsCompiledAhead = await ahead;
  const loaded = performance.now();
  post({ type: 'warming-up' });
  // A 16-token prompt (a many-row prefill: the tiled products) and two generated tokens (one-row decode steps) run
  // the kernels most requests use once, so their pipelines are compiled before the user's first request.
  const warmUpPrompt = new Array<number>(Math.min(16, pipeline.contextLength - 2)).fill(0);
  await pipeline.generate(warmUpPrompt, { maxTokens: 2, ignoreEndOfGeneration: true }).result;
  await pipeline.reset();
  // One sampled token compiles the sampling kernels (temperature, top-k, top-p) too.
  await pipeline.generate([0], { maxTokens: 1, temperature: 1, topK: 40, topP: 0.95, seed: 0 }).result;
  await pipeline.reset();
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
    maxContextLength: trainedContextLength(opened) ?? pipeline.contextLength,
    kernelsCompiledAhead,
    format: opened.format,
    architecture: opened.architecture ?? 'unknown',
    contextLength: pipeline.contextLength,
    vocabularySize: pipeline.vocabularySize,
    tensors: opened.tensors.tensors.size,
    bytes,
    hasChatTemplate: pipeline.chatTemplate !== undefined,
    adapter: adapterName(backend.device),
    loadMs: loaded - started,
    warmUpMs: performance.now() - loaded,
  };
  modelName = origin.name;
  post({ type: 'loaded', info });
}

function generateOptions(options: RequestOptions, signal: AbortSignal): GenerateOptions {
  return {
    maxTokens: options.maxTokens,
    temperature: options.temperature,
    topK: options.topK,
    topP: options.topP,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    ...(options.alternatives === undefined ? {} : { logprobs: options.alternatives }),
    signal,
  };
}

/** The loaded model's name, for chat-completion chunks. */
let modelName = 'strata';

async function completeChat(id: number, body: Extract<WorkerRequest, { type: 'chat.completions' }>['body']) {
  const current = pipeline;
  if (current === undefined) {
    throw new StrataError('INVALID_ARGUMENT', 'No model is loaded yet: load one by URL, pick a file or drop one.');
  }
  const controller = new AbortController();
  running = controller;
  try {
    await streamChatCompletion(current, modelName, body, controller.signal, (chunk) =>
      post({ type: 'chat.completion.chunk', id, chunk }),
    );
  } finally {
    if (running === controller) running = undefined;
  }
}

async function run(
  id: number,
  options: RequestOptions,
  start: (pipeline: TextPipeline, options: GenerateOptions) => Generation,
): Promise<void> {
  const current = pipeline;
  if (current === undefined) {
    throw new StrataError('INVALID_ARGUMENT', 'No model is loaded yet: pick a .gguf file or a model folder first.');
  }
  const controller = new AbortController();
  running = controller;
  try {
    const generation = start(current, generateOptions(options, controller.signal));
    for await (const delta of generation) {
      post({
        type: 'delta',
        id,
        text: delta.text,
        ...(delta.token === undefined ? {} : { token: delta.token }),
        ...(delta.logprob === undefined ? {} : { logprob: delta.logprob }),
        ...(delta.topLogprobs === undefined
          ? {}
          : { alternatives: delta.topLogprobs.map(({ token, logprob }) => [token, logprob] as const) }),
      });
    }
    const result = await generation.result;
    post({
      type: 'done',
      id,
      result: { text: result.text, tokens: [...result.tokens], finishReason: result.finishReason, stats: result.stats },
    });
  } finally {
    if (running === controller) running = undefined;
  }
}

scope.addEventListener('message', (event) => {
  const request = event.data;
  switch (request.type) {
    case 'load':
      load(request.files, request.contextLength).catch((error) =>
        post({ ...describeError(error), modelKept: pipeline !== undefined }),
      );
      break;
    case 'load-url':
      loadUrl(request.url, request.contextLength).catch((error) =>
        post({ ...describeError(error), modelKept: pipeline !== undefined }),
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
    case 'generate':
      run(request.id, request.options, (model, options) => model.generate(request.prompt, options)).catch((error) =>
        post(describeError(error, request.id)),
      );
      break;
    case 'chat':
      run(request.id, request.options, (model, options) => model.chat(request.messages, options)).catch((error) =>
        post(describeError(error, request.id)),
      );
      break;
    case 'chat.completions':
      completeChat(request.id, request.body).catch((error) => post(describeError(error, request.id)));
      break;
    case 'stop':
      running?.abort();
      loading?.abort(); // a download stops; its bytes stay in the cache and the next load resumes there
      break;
  }
});
