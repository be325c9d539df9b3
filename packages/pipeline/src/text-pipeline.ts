import { type Backend, type KeyValuePrecision, StrataError } from '@strata/core';
import type { CompleteModel } from '@strata/models';
import { SequenceState } from './cache/sequence-state.js';
import type { ModelExecutor } from './generation/executor.js';
import { type LoadTextPipelineOptions, loadTextPipeline, type ModelSource } from './load/load-text-pipeline.js';
import type { Generation } from './generation/generation.js';
import { LocalExecutor } from './generation/local-executor.js';
import { RequestQueue } from './generation/request-queue.js';
import { startGeneration } from './generation/run-generation.js';
import { type StepHooks, withStepHooks } from './generation/step-hooks.js';
import type { GenerateOptions } from './generation/types.js';
import { type ContextOverflow, checkContextOverflow, fitConversation } from './text/fit-conversation.js';
import type { ChatMessage, PipelineChatTemplate, PipelineTokenizer } from './text/tokenizer.js';

/** Options of `chat`: those of `generate`, and what to do when the conversation outgrows the context. */
export interface ChatOptions extends GenerateOptions {
  /**
   * When the conversation plus room for the reply (`maxTokens`, at most half the context) does not fit: drop the
   * oldest turns (default), shift like llama.cpp, or throw. See {@link ContextOverflow}.
   */
  readonly contextOverflow?: ContextOverflow;
}

const DEFAULT_MAX_TOKENS = 256;

/** Default prefill chunk: rows per prefill step (also sizes sliding-window ring buffers). */
export const DEFAULT_CHUNK_SIZE = 256;
/** Default context when neither the caller nor the model says otherwise. */
export const DEFAULT_CONTEXT_LENGTH = 4096;

/** Numerics and storage of the KV cache: see {@link RuntimeOptions.cacheType}. */
export type CacheType = KeyValuePrecision;

/** Sizes of the runtime state a pipeline allocates. */
export interface RuntimeOptions {
  /** Tokens the KV cache holds (the prompt and everything generated). Default 4096, capped by the model's maximum. */
  readonly contextLength?: number;
  /** Rows per prefill step (default 256): bigger is faster, smaller bounds memory and the ring buffers. */
  readonly chunkSize?: number;
  /**
   * Numerics of the KV cache. `'f32'` (default): keys and values kept exactly, the path that matches transformers.
   * `'f16'`: every key and value is rounded to half precision when written, as llama.cpp's default f16 cache does
   * (to reproduce its tokens), stored in half precision (half the bytes of f32, on the CPU and WebGPU).
   * `'q8_0'`: llama.cpp's q8_0 cache type, each block of 32 values of a head stored as 32 int8 quants and an f16 scale
   * (34 bytes per 32 values, about 27% of f32, on every backend); needs heads of a multiple of 32 dimensions
   * (`INVALID_ARGUMENT` otherwise). See `KeyValueCache.precision` in core for the exact quantization.
   */
  readonly cacheType?: CacheType;
  /**
   * Decode steps replay a captured step plan (`Backend.captureStep`) instead of running every op again (default
   * true): the same numbers with far less work on the CPU per token. `false` runs every step eagerly.
   */
  readonly capturedDecode?: boolean;
  /**
   * Greedy decode steps start the next step on the device before the chosen token is read back, so the CPU records
   * step N + 1 while the GPU runs step N (default true; WebGPU with `capturedDecode` only). The tokens are the same.
   */
  readonly decodeAhead?: boolean;
  /** Callbacks around every forward step (tracing, profiling). */
  readonly hooks?: StepHooks;
}

/** The already-built parts a pipeline can be assembled from. */
export interface TextPipelineParts extends RuntimeOptions {
  /** The model (embedding, every layer and the head), uploaded to `backend`. */
  readonly model: CompleteModel;
  /** The backend the model's weights live on. */
  readonly backend: Backend;
  /** Text ↔ ids. */
  readonly tokenizer: PipelineTokenizer;
  /** The chat template, when the model has one (needed by `chat`). */
  readonly chatTemplate?: PipelineChatTemplate;
  /** The model's maximum context, to cap `contextLength` (from its config). */
  readonly maxContextLength?: number;
  /** Called once the pipeline is disposed (a loader passes the model's `dispose` to free its weights). */
  readonly onDispose?: () => void;
}

/** The parts of a pipeline whose model runs elsewhere (stages) or is driven by a custom executor. */
export interface ExecutorPipelineParts {
  /** Runs forward steps (a {@link LocalExecutor}, or a staged executor). */
  readonly executor: ModelExecutor;
  /** Text ↔ ids: encodes string prompts, decodes the streamed text, names the end-of-generation ids. */
  readonly tokenizer: PipelineTokenizer;
  /** The chat template, when the model has one (`chat` and `renderChat` throw `TEMPLATE_NOT_FOUND` without it). */
  readonly chatTemplate?: PipelineChatTemplate;
  /** Called once the pipeline is disposed. */
  readonly onDispose?: () => void;
}

/** Prompt of `generate`: text (tokenized with the pipeline's tokenizer) or token ids. */
export type Prompt = string | ArrayLike<number>;

/**
 * Text generation over one model: owns the KV cache, the tokenizer, the chat template and the request queue.
 * Requests run one at a time in arrival order; each reuses the cached tokens it shares with the previous one.
 *
 * ```ts
 * const pipeline = await TextPipeline.load('model.gguf', { backend, contextLength: 8192 });
 * for await (const { text } of pipeline.generate('Once upon a time', { maxTokens: 32 })) process.stdout.write(text);
 * ```
 */
export class TextPipeline {
  /** The tokenizer. */
  readonly tokenizer: PipelineTokenizer;
  /** The chat template, if any. */
  readonly chatTemplate: PipelineChatTemplate | undefined;
  private readonly executor: ModelExecutor;
  private readonly sequence = new SequenceState();
  private readonly queue = new RequestQueue();
  private readonly onDispose: (() => void) | undefined;
  private disposed = false;

  private constructor(parts: ExecutorPipelineParts) {
    this.executor = parts.executor;
    this.tokenizer = parts.tokenizer;
    this.chatTemplate = parts.chatTemplate;
    this.onDispose = parts.onDispose;
  }

  /**
   * Loads a model file or directory (or byte sources) with its tokenizer and chat template onto `options.backend`;
   * see {@link loadTextPipeline}.
   */
  static load(source: ModelSource, options: LoadTextPipelineOptions): Promise<TextPipeline> {
    return loadTextPipeline(source, options);
  }

  /** A pipeline over a model already uploaded to `backend`; allocates the KV cache for the requested context. */
  static fromParts(parts: TextPipelineParts): TextPipeline {
    const requested = parts.contextLength ?? Math.min(DEFAULT_CONTEXT_LENGTH, parts.maxContextLength ?? Infinity);
    const chunkSize = parts.chunkSize ?? DEFAULT_CHUNK_SIZE;
    checkRuntimeOptions(requested, chunkSize);
    const cacheType = checkCacheType(parts.cacheType);
    const contextLength = Math.min(requested, parts.maxContextLength ?? Infinity);
    const local = new LocalExecutor(parts.model, parts.backend, {
      contextLength,
      chunkSize: Math.min(chunkSize, contextLength),
      cacheType,
      ...(parts.capturedDecode === undefined ? {} : { capturedDecode: parts.capturedDecode }),
      ...(parts.decodeAhead === undefined ? {} : { decodeAhead: parts.decodeAhead }),
    });
    const executor = parts.hooks === undefined ? local : withStepHooks(local, parts.hooks);
    return new TextPipeline({
      executor,
      tokenizer: parts.tokenizer,
      chatTemplate: parts.chatTemplate,
      onDispose: parts.onDispose,
    });
  }

  /** A pipeline driven by a custom executor (pipeline stages: see `createStagedExecutor`). */
  static fromExecutor(parts: ExecutorPipelineParts): TextPipeline {
    return new TextPipeline(parts);
  }

  /** Tokens the context holds. */
  get contextLength(): number {
    return this.executor.contextLength;
  }

  /** Rows per prefill step. */
  get chunkSize(): number {
    return this.executor.chunkSize;
  }

  /** Logit columns of the model. */
  get vocabularySize(): number {
    return this.executor.vocabularySize;
  }

  /** Requests waiting or running on this pipeline. */
  get pendingRequests(): number {
    return this.queue.pending;
  }

  /** Tokens currently cached (reused by a next request that starts with them). */
  get cachedTokens(): readonly number[] {
    return this.sequence.snapshot();
  }

  /**
   * Generates a continuation of `prompt` (text, tokenized with special tokens unless `addSpecialTokens: false`, or ids).
   * Iterate the returned {@link Generation} for `{token, text}` deltas; await its `result` for text, tokens and stats.
   * Bad options throw `INVALID_SAMPLING_OPTIONS`/`INVALID_ARGUMENT` here, before anything runs.
   */
  generate(prompt: Prompt, options: GenerateOptions = {}): Generation {
    this.checkUsable();
    const ids =
      typeof prompt === 'string'
        ? this.tokenizer.encode(prompt, { addSpecial: options.addSpecialTokens ?? true, parseSpecial: true })
        : Array.from(prompt);
    return startGeneration(
      { executor: this.executor, tokenizer: this.tokenizer, sequence: this.sequence, queue: this.queue },
      ids,
      options,
    );
  }

  /**
   * Renders `messages` with the chat template (adding the assistant's turn header) and generates the reply. A
   * conversation that outgrows the context keeps going: by default its oldest turns after the system prompt are left
   * out of the prompt (`options.contextOverflow`); only a last message that cannot fit even alone throws
   * `CONTEXT_OVERFLOW`.
   */
  chat(messages: readonly ChatMessage[], options: ChatOptions = {}): Generation {
    const { contextOverflow, ...generateOptions } = options;
    const policy = checkContextOverflow(contextOverflow, this.contextLength);
    const addSpecial = options.addSpecialTokens ?? false;
    const encode = (turns: readonly ChatMessage[]) =>
      this.tokenizer.encode(this.renderChat(turns), { addSpecial, parseSpecial: true });
    const maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS;
    const replyRoom = Math.min(Number.isInteger(maxTokens) && maxTokens > 0 ? maxTokens : 1, this.contextLength >> 1);
    const ids = fitConversation(messages, encode, { contextLength: this.contextLength, replyRoom, policy });
    const shift = typeof policy === 'object' && options.contextShift === undefined ? { keep: policy.keep } : undefined;
    return this.generate(ids, shift === undefined ? generateOptions : { ...generateOptions, contextShift: shift });
  }

  /** The prompt text `chat` would generate from. */
  renderChat(messages: readonly ChatMessage[]): string {
    if (this.chatTemplate === undefined) {
      throw new StrataError(
        'TEMPLATE_NOT_FOUND',
        'This model has no chat template; use generate() with a prompt, or build the pipeline with a chatTemplate.',
      );
    }
    return this.chatTemplate.render({ messages, addGenerationPrompt: true });
  }

  /** Forgets the cached tokens (the next request computes its whole prompt). */
  async reset(): Promise<void> {
    await this.queue.run(async () => this.sequence.truncate(0));
  }

  /** Waits for queued requests, then releases the KV cache. The pipeline cannot be used afterwards. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await this.queue.run(async () => {
      await this.executor.dispose();
      this.onDispose?.();
    });
  }

  private checkUsable(): void {
    if (this.disposed) throw new StrataError('INVALID_ARGUMENT', 'This pipeline was disposed; load a new one.');
  }
}

/** Checks a cache type (undefined: the default `'f32'`); throws `INVALID_ARGUMENT` for anything else. */
export function checkCacheType(cacheType: unknown): CacheType {
  if (cacheType === undefined) return 'f32';
  if (cacheType === 'f32' || cacheType === 'f16' || cacheType === 'q8_0') return cacheType;
  throw new StrataError('INVALID_ARGUMENT', `cacheType is ${String(cacheType)}; it must be 'f32', 'f16' or 'q8_0'.`, {
    details: { cacheType: String(cacheType) },
  });
}

/** Checks context length and chunk size. */
export function checkRuntimeOptions(contextLength: number, chunkSize: number): void {
  if (!Number.isInteger(contextLength) || contextLength < 2) {
    throw new StrataError('INVALID_ARGUMENT', `contextLength is ${contextLength}; it must be an integer ≥ 2.`, {
      details: { contextLength },
    });
  }
  if (!Number.isInteger(chunkSize) || chunkSize < 1) {
    throw new StrataError('INVALID_ARGUMENT', `chunkSize is ${chunkSize}; it must be an integer ≥ 1.`, {
      details: { chunkSize },
    });
  }
}
