import type { CachedEntry, CacheProgress } from '@strata/loaders';
import type { ChatMessage, LoadProgress } from '@strata/pipeline';
import type { ChatCompletionChunk, ChatCompletionRequest, ChatCompletions } from './chat-completions.js';
import type { ModelInfo, RequestOptions, RequestResult, WorkerEvent, WorkerRequest } from './protocol.js';

/** A failure reported by the model worker, with the `StrataError` code when there is one. */
export class WorkerError extends Error {
  constructor(
    readonly code: string,
    message: string,
    /** A failed load: the previously loaded model is still loaded. */
    readonly modelKept = false,
  ) {
    super(message);
    this.name = 'WorkerError';
  }
}

/** One streamed piece of a generation. */
export interface StreamedDelta {
  readonly text: string;
  readonly token?: number;
  /** Log-probability of `token`, when alternatives were asked. */
  readonly logprob?: number;
  /** The most likely tokens of the step as `[token, logprob]`, when alternatives were asked. */
  readonly alternatives?: readonly (readonly [number, number])[];
}

interface Pending {
  readonly onDelta: (delta: StreamedDelta) => void;
  readonly resolve: (result: RequestResult) => void;
  readonly reject: (error: WorkerError) => void;
}

/** The page's side of the model worker: promises for loading and generating, callbacks for progress and deltas. */
export class ModelClient implements ChatCompletions {
  private readonly worker: Worker;
  private nextId = 0;
  private readonly pending = new Map<number, Pending>();
  private readonly completions = new Map<
    number,
    { onChunk: (chunk: ChatCompletionChunk) => void; resolve: () => void; reject: (error: WorkerError) => void }
  >();
  private readonly cacheWaiters: {
    resolve: (list: { entries: readonly CachedEntry[]; totalBytes: number }) => void;
    reject: (error: WorkerError) => void;
  }[] = [];
  private loading:
    | {
        onProgress: (progress: LoadProgress) => void;
        onDownload?: (progress: CacheProgress) => void;
        onWarmUp: () => void;
        resolve: (info: ModelInfo) => void;
        reject: (error: WorkerError) => void;
      }
    | undefined;

  constructor() {
    this.worker = new Worker(new URL('./worker.ts', import.meta.url), { type: 'module', name: 'strata-model' });
    this.worker.addEventListener('message', (event: MessageEvent<WorkerEvent>) => this.receive(event.data));
    this.worker.addEventListener('error', (event) => {
      const error = new WorkerError('WORKER_ERROR', event.message || 'The model worker failed to start.');
      this.loading?.reject(error);
      this.loading = undefined;
      for (const waiter of [...this.pending.values(), ...this.completions.values()]) waiter.reject(error);
      this.pending.clear();
      this.completions.clear();
    });
  }

  /**
   * Loads the picked files (replacing any loaded model); `onProgress` sees the bytes and tensors read, `onWarmUp` is
   * called once the weights are on the GPU and the kernels compile.
   */
  load(
    files: readonly File[],
    contextLength: number,
    onProgress: (progress: LoadProgress) => void,
    onWarmUp: () => void,
  ): Promise<ModelInfo> {
    this.loading?.reject(new WorkerError('ABORTED', 'Another model was picked.'));
    return new Promise((resolve, reject) => {
      this.loading = { onProgress, onWarmUp, resolve, reject };
      this.send({ type: 'load', files, contextLength });
    });
  }

  /**
   * Loads a model by URL through the browser's model cache (replacing any loaded model); `onDownload` sees the bytes
   * arriving (or `from: 'cache'`), `onProgress` the tensors uploaded.
   */
  loadUrl(
    url: string,
    contextLength: number,
    handlers: {
      readonly onProgress: (progress: LoadProgress) => void;
      readonly onDownload: (progress: CacheProgress) => void;
      readonly onWarmUp: () => void;
    },
  ): Promise<ModelInfo> {
    this.loading?.reject(new WorkerError('ABORTED', 'Another model was picked.'));
    return new Promise((resolve, reject) => {
      this.loading = { ...handlers, resolve, reject };
      this.send({ type: 'load-url', url, contextLength });
    });
  }

  /** The cached files, most recently used first, and their total size. */
  listCache(): Promise<{ entries: readonly CachedEntry[]; totalBytes: number }> {
    return new Promise((resolve, reject) => {
      this.cacheWaiters.push({ resolve, reject });
      this.send({ type: 'cache-list' });
    });
  }

  /** Deletes a cached file; resolves to the list after. */
  deleteCached(url: string): Promise<{ entries: readonly CachedEntry[]; totalBytes: number }> {
    return new Promise((resolve, reject) => {
      this.cacheWaiters.push({ resolve, reject });
      this.send({ type: 'cache-delete', url });
    });
  }

  /** Continues `prompt` (text, or token ids), streaming each delta to `onDelta`. */
  generate(
    prompt: string | readonly number[],
    options: RequestOptions,
    onDelta: (delta: StreamedDelta) => void,
  ): Promise<RequestResult> {
    return this.request(onDelta, (id) => ({ type: 'generate', id, prompt, options }));
  }

  /** Answers the conversation with the model's chat template, streaming each delta to `onDelta`. */
  chat(
    messages: readonly ChatMessage[],
    options: RequestOptions,
    onDelta: (delta: StreamedDelta) => void,
  ): Promise<RequestResult> {
    return this.request(onDelta, (id) => ({ type: 'chat', id, messages, options }));
  }

  /** Streams an OpenAI-shaped chat completion; resolves after the chunk that has a finish reason. */
  create(request: ChatCompletionRequest, onChunk: (chunk: ChatCompletionChunk) => void): Promise<void> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.completions.set(id, { onChunk, resolve, reject });
      this.send({ type: 'chat.completions', id, body: request });
    });
  }

  /** Stops the running generation at its next step (its result then says `aborted`). */
  stop(): void {
    this.send({ type: 'stop' });
  }

  private request(
    onDelta: (delta: StreamedDelta) => void,
    message: (id: number) => WorkerRequest,
  ): Promise<RequestResult> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { onDelta, resolve, reject });
      this.send(message(id));
    });
  }

  private send(message: WorkerRequest): void {
    this.worker.postMessage(message);
  }

  private receive(event: WorkerEvent): void {
    switch (event.type) {
      case 'progress':
        this.loading?.onProgress(event.progress);
        break;
      case 'download':
        this.loading?.onDownload?.(event.progress);
        break;
      case 'cache':
        for (const waiter of this.cacheWaiters.splice(0)) {
          waiter.resolve({ entries: event.entries, totalBytes: event.totalBytes });
        }
        break;
      case 'warming-up':
        this.loading?.onWarmUp();
        break;
      case 'loaded':
        this.loading?.resolve(event.info);
        this.loading = undefined;
        break;
      case 'delta':
        this.pending.get(event.id)?.onDelta(event);
        break;
      case 'chat.completion.chunk': {
        const waiter = this.completions.get(event.id);
        waiter?.onChunk(event.chunk);
        if (event.chunk.choices[0]?.finish_reason != null) {
          this.completions.delete(event.id);
          waiter?.resolve();
        }
        break;
      }
      case 'done':
        this.pending.get(event.id)?.resolve(event.result);
        this.pending.delete(event.id);
        break;
      case 'error': {
        const error = new WorkerError(event.code, event.message, event.modelKept ?? false);
        if (event.cache === true) {
          for (const waiter of this.cacheWaiters.splice(0)) waiter.reject(error);
        } else if (event.id === undefined) {
          this.loading?.reject(error);
          this.loading = undefined;
        } else {
          this.pending.get(event.id)?.reject(error);
          this.pending.delete(event.id);
          this.completions.get(event.id)?.reject(error);
          this.completions.delete(event.id);
        }
        break;
      }
    }
  }
}
