/**
 * The messages between the page and the model worker. Two kinds: the model's lifecycle (load by file or URL, the cache
 * of downloaded models), which OpenAI's API has no words for, and the transport of `@strata/pipeline`'s
 * `OpenAICompatibleApi` (`api*`): OpenAI's request bodies one way, its chunk, response and error objects the other.
 */
import type { CachedEntry, CacheProgress } from '@strata/loaders';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  Completion,
  CompletionRequest,
  LoadProgress,
  OpenAIErrorResponse,
} from '@strata/pipeline';

/** The endpoints of the OpenAI-shaped API the worker serves. */
export type ApiEndpoint = 'chat.completions' | 'completions';

/** A request to the worker's OpenAI-shaped API, or the abort of one. */
export type ApiRequest =
  | {
      readonly type: 'api';
      readonly id: number;
      readonly endpoint: 'chat.completions';
      readonly request: ChatCompletionRequest;
    }
  | { readonly type: 'api'; readonly id: number; readonly endpoint: 'completions'; readonly request: CompletionRequest }
  /** Aborts request `id` (its stream then ends as the API ends an aborted one). */
  | { readonly type: 'api-abort'; readonly id: number };

/** What the worker's OpenAI-shaped API answers, by request id. */
export type ApiEvent =
  /** `create` resolved to a stream: chunks follow, then `api-end` (or `api-error`). */
  | { readonly type: 'api-stream'; readonly id: number }
  | { readonly type: 'api-chunk'; readonly id: number; readonly chunk: ChatCompletionChunk | Completion }
  | { readonly type: 'api-end'; readonly id: number }
  /** `create` resolved to a whole response (`stream` not set). */
  | { readonly type: 'api-response'; readonly id: number; readonly response: ChatCompletion | Completion }
  /** The request failed (before or during its stream), as OpenAI's error object and HTTP status. */
  | { readonly type: 'api-error'; readonly id: number; readonly error: OpenAIErrorResponse };

/** What the page asks of the model worker. */
export type WorkerRequest =
  | { readonly type: 'load'; readonly files: readonly File[]; readonly contextLength: number }
  /** Loads a model by URL (`https://…/model.gguf`, a Hugging Face folder, `hf://…`) through the browser's model cache. */
  | { readonly type: 'load-url'; readonly url: string; readonly contextLength: number }
  /** Stops a running download (its bytes stay in the cache; the next load resumes there). */
  | { readonly type: 'cancel-load' }
  /** Asks for the cached files (answered by a `cache` event). */
  | { readonly type: 'cache-list' }
  /** Deletes a cached file and what was kept beside it (its kernel list); answered by a `cache` event. */
  | { readonly type: 'cache-delete'; readonly url: string }
  | ApiRequest;

/** What the loaded model is. */
export interface ModelInfo {
  /** The name the API serves it under (the `model` of requests): the file or folder name. */
  readonly name: string;
  /** The URL it was loaded from (undefined for picked files). */
  readonly url?: string;
  /** Where the bytes came from: the cache, the network (and into the cache), or the network uncached (quota). */
  readonly from?: 'cache' | 'network' | 'uncached' | 'disk';
  /** The most tokens the model takes (its trained context); `contextLength` is what was allocated. */
  readonly maxContextLength: number;
  /** Kernels compiled ahead from the list saved by an earlier load, while the weights loaded. */
  readonly kernelsCompiledAhead: number;
  readonly format: 'gguf' | 'huggingface';
  readonly architecture: string;
  readonly contextLength: number;
  readonly vocabularySize: number;
  readonly tensors: number;
  readonly bytes: number;
  readonly hasChatTemplate: boolean;
  /** The WebGPU adapter, as its info describes it. */
  readonly adapter: string;
  /** Milliseconds reading and uploading the weights. */
  readonly loadMs: number;
  /** Milliseconds of the warm-up generation that compiles the GPU pipelines (so the first request is not slowed). */
  readonly warmUpMs: number;
}

/** What the model worker reports. */
export type WorkerEvent =
  | { readonly type: 'progress'; readonly progress: LoadProgress }
  | { readonly type: 'warming-up' }
  | { readonly type: 'download'; readonly progress: CacheProgress }
  | { readonly type: 'cache'; readonly entries: readonly CachedEntry[]; readonly totalBytes: number }
  | { readonly type: 'loaded'; readonly info: ModelInfo }
  | {
      /** A failed load or cache request (API requests fail with `api-error`). */
      readonly type: 'error';
      readonly code: string;
      readonly message: string;
      /** A failed cache request (`cache-list`, `cache-delete`), not a load. */
      readonly cache?: true;
      /** A failed load: whether the previously loaded model is still loaded (the new files could not be opened). */
      readonly modelKept?: boolean;
    }
  | ApiEvent;
