import type { CachedEntry, CacheProgress } from '@strata/loaders';
import type { LoadProgress } from '@strata/pipeline';
import { OpenAIWorkerClient } from './openai-worker-client.js';
import type { ModelInfo, WorkerEvent, WorkerRequest } from './protocol.js';

/** A failed load or cache request of the model worker, with the `StrataError` code when there is one. */
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

/**
 * The page's side of the model worker: promises for loading a model and for the cache of downloaded ones, callbacks
 * for their progress, and {@link ModelClient.api}, the OpenAI-shaped API of the loaded model.
 */
export class ModelClient {
  /** `chat.completions.create` and `completions.create` of the loaded model (OpenAI's shapes, streamed or not). */
  readonly api: OpenAIWorkerClient;
  private readonly worker: Worker;
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
    this.api = new OpenAIWorkerClient((message) => this.send(message));
    this.worker.addEventListener('message', (event: MessageEvent<WorkerEvent>) => this.receive(event.data));
    this.worker.addEventListener('error', (event) => {
      const message = event.message || 'The model worker failed to start.';
      this.loading?.reject(new WorkerError('WORKER_ERROR', message));
      this.loading = undefined;
      this.api.failAll({
        status: 500,
        body: { error: { message, type: 'server_error', param: null, code: 'worker_error' } },
      });
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

  /** Stops a running download; its bytes stay in the cache and the next load of the URL resumes there. */
  cancelLoad(): void {
    this.send({ type: 'cancel-load' });
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
      case 'error': {
        const error = new WorkerError(event.code, event.message, event.modelKept ?? false);
        if (event.cache === true) {
          for (const waiter of this.cacheWaiters.splice(0)) waiter.reject(error);
        } else {
          this.loading?.reject(error);
          this.loading = undefined;
        }
        break;
      }
      default:
        this.api.receive(event);
    }
  }
}
