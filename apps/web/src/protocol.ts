import type { CachedEntry, CacheProgress } from '@strata/loaders';
import type { ChatMessage, FinishReason, GenerationStats, LoadProgress } from '@strata/pipeline';
import type { ChatCompletionChunk, ChatCompletionRequest } from './chat-completions.js';

/** Sampling and length options the page sends with a request. */
export interface RequestOptions {
  readonly maxTokens: number;
  /** 0 is greedy. */
  readonly temperature: number;
  readonly topK: number;
  readonly topP: number;
  /** Undefined: a fresh seed per request. */
  readonly seed?: number;
  /** Report each token's log-probability and this many most likely alternatives (costs a logits read per step). */
  readonly alternatives?: number;
}

/** What the page asks of the model worker. */
export type WorkerRequest =
  | { readonly type: 'load'; readonly files: readonly File[]; readonly contextLength: number }
  /** Loads a model by URL (`https://…/model.gguf`, a Hugging Face folder, `hf://…`) through the browser's model cache. */
  | { readonly type: 'load-url'; readonly url: string; readonly contextLength: number }
  /** Asks for the cached files (answered by a `cache` event). */
  | { readonly type: 'cache-list' }
  /** Deletes a cached file and what was kept beside it (its kernel list); answered by a `cache` event. */
  | { readonly type: 'cache-delete'; readonly url: string }
  | {
      readonly type: 'generate';
      readonly id: number;
      /** Text (tokenized with BOS as the tokenizer declares) or token ids. */
      readonly prompt: string | readonly number[];
      readonly options: RequestOptions;
    }
  | {
      readonly type: 'chat';
      readonly id: number;
      readonly messages: readonly ChatMessage[];
      readonly options: RequestOptions;
    }
  /** An OpenAI-shaped chat completion (streamed as `chat.completion.chunk` events). */
  | { readonly type: 'chat.completions'; readonly id: number; readonly body: ChatCompletionRequest }
  | { readonly type: 'stop' };

/** What the loaded model is. */
export interface ModelInfo {
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

/** The end of a generation, as the page shows it. */
export interface RequestResult {
  readonly text: string;
  readonly tokens: readonly number[];
  readonly finishReason: FinishReason;
  readonly stats: GenerationStats;
}

/** What the model worker reports. */
export type WorkerEvent =
  | { readonly type: 'progress'; readonly progress: LoadProgress }
  | { readonly type: 'warming-up' }
  | { readonly type: 'download'; readonly progress: CacheProgress }
  | { readonly type: 'cache'; readonly entries: readonly CachedEntry[]; readonly totalBytes: number }
  | { readonly type: 'loaded'; readonly info: ModelInfo }
  | {
      readonly type: 'delta';
      readonly id: number;
      readonly text: string;
      readonly token?: number;
      /** Log-probability of `token`, when alternatives were asked. */
      readonly logprob?: number;
      /** The most likely tokens of this step as `[token, logprob]`, when alternatives were asked. */
      readonly alternatives?: readonly (readonly [number, number])[];
    }
  | { readonly type: 'done'; readonly id: number; readonly result: RequestResult }
  | { readonly type: 'chat.completion.chunk'; readonly id: number; readonly chunk: ChatCompletionChunk }
  | {
      readonly type: 'error';
      /** The failed request; absent for a failed load. */
      readonly id?: number;
      readonly code: string;
      readonly message: string;
      /** A failed cache request (`cache-list`, `cache-delete`), not a load. */
      readonly cache?: true;
      /** A failed load: whether the previously loaded model is still loaded (the new files could not be opened). */
      readonly modelKept?: boolean;
    };
