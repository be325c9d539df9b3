import { type Backend, type KeyValuePrecision, StrataError } from '@strata/core';
import { tokenizerFromModel } from '@strata/loaders';
import { type CompleteModel, loadModel, supportsPagedForward } from '@strata/models';
import {
  chatTemplateOf,
  type LoadTextPipelineOptions,
  type ModelSource,
  openSource,
} from '../load/load-text-pipeline.js';
import { trackProgress } from '../load/progress-store.js';
import type { PipelineChatTemplate, PipelineTokenizer } from '../text/tokenizer.js';
import { checkCacheType, checkRuntimeOptions, DEFAULT_CHUNK_SIZE, DEFAULT_CONTEXT_LENGTH } from '../text-pipeline.js';
import { BatchedStepExecutor } from './batched-executor.js';
import { PerSequenceStepExecutor } from './per-sequence-executor.js';
import { Scheduler } from './scheduler.js';
import type { SchedulerOptions } from './scheduler-options.js';
import type { StepExecutor } from './step-executor.js';

/** Default tokens per KV page. */
export const DEFAULT_PAGE_SIZE = 16;

/** Sizes of a scheduler's runtime state, besides {@link SchedulerOptions}. */
export interface SchedulerRuntimeOptions extends SchedulerOptions {
  /** Tokens one sequence may hold (default 4096, capped by the model's maximum). */
  readonly contextLength?: number;
  /** Rows per prefill chunk (default 256); rounded down to a multiple of the page size. */
  readonly chunkSize?: number;
  /** Tokens per KV page (default 16). */
  readonly pageSize?: number;
  /** Numerics and storage of the KV cache (default `'f32'`; see `RuntimeOptions.cacheType`). */
  readonly cacheType?: KeyValuePrecision;
  /**
   * Run every step as one batched forward over a paged KV pool where the model supports it (default true); false
   * runs each sequence through its own forward over contiguous caches ({@link PerSequenceStepExecutor}).
   */
  readonly batched?: boolean;
  /**
   * Steps of the batched executor whose every row is one decode token replay a captured step per row count
   * (`BatchedStepExecutorOptions.capturedDecode`; default true, false records every step). The tokens are the same.
   */
  readonly capturedDecode?: boolean;
}

/** A model already on `backend`, with its tokenizer and chat template, to build a scheduler from. */
export interface SchedulerModelParts extends SchedulerRuntimeOptions {
  /** The whole model. */
  readonly model: CompleteModel;
  /** The backend its weights live on. */
  readonly backend: Backend;
  /** Text ↔ ids. */
  readonly tokenizer: PipelineTokenizer;
  /** The chat template, if any. */
  readonly chatTemplate?: PipelineChatTemplate;
  /** The model's maximum context (caps `contextLength`). */
  readonly maxContextLength?: number;
  /** Called once the scheduler closed. */
  readonly onClose?: () => void;
}

/**
 * A scheduler over a model already uploaded to its backend. Its step executor is the {@link BatchedStepExecutor} (one
 * forward over every running sequence's rows, attention through a paged KV pool) when the model offers the paged
 * forward (every model of the transformer builder: all decoder families of the registry), the
 * {@link PerSequenceStepExecutor} (one forward per sequence over contiguous caches) otherwise, or when `batched` is
 * false.
 */
export function createScheduler(parts: SchedulerModelParts): Scheduler {
  const requested = parts.contextLength ?? Math.min(DEFAULT_CONTEXT_LENGTH, parts.maxContextLength ?? Infinity);
  const pageSize = parts.pageSize ?? DEFAULT_PAGE_SIZE;
  checkRuntimeOptions(requested, parts.chunkSize ?? DEFAULT_CHUNK_SIZE);
  if (!Number.isInteger(pageSize) || pageSize < 1) {
    throw new StrataError('INVALID_ARGUMENT', `pageSize is ${pageSize}; it must be an integer ≥ 1.`, {
      details: { pageSize },
    });
  }
  const contextLength = Math.min(requested, parts.maxContextLength ?? Infinity);
  const chunk = Math.min(parts.chunkSize ?? DEFAULT_CHUNK_SIZE, contextLength);
  const chunkSize = Math.max(pageSize, Math.floor(chunk / pageSize) * pageSize);
  const executor = createStepExecutor(parts.model, parts.backend, {
    contextLength,
    chunkSize,
    pageSize,
    cacheType: checkCacheType(parts.cacheType),
    batched: parts.batched ?? true,
    capturedDecode: parts.capturedDecode,
  });
  return new Scheduler(
    {
      executor,
      tokenizer: parts.tokenizer,
      ...(parts.chatTemplate === undefined ? {} : { chatTemplate: parts.chatTemplate }),
      ...(parts.onClose === undefined ? {} : { onClose: parts.onClose }),
    },
    parts,
  );
}

/** What {@link createStepExecutor} sizes an executor by. */
export interface StepExecutorLayout {
  /** Tokens one sequence may hold. */
  readonly contextLength: number;
  /** Most ids per row (a multiple of `pageSize`). */
  readonly chunkSize: number;
  /** Tokens per page. */
  readonly pageSize: number;
  /** Numerics and storage of the KV cache. */
  readonly cacheType: KeyValuePrecision;
  /** Prefer the batched executor where the model supports it. */
  readonly batched: boolean;
  /** The batched executor replays captured decode steps (default true). */
  readonly capturedDecode?: boolean;
}

/**
 * The step executor of a scheduler over `model`: the {@link BatchedStepExecutor} when `batched` and the model offers
 * the paged forward (`supportsPagedForward`), the {@link PerSequenceStepExecutor} otherwise.
 */
export function createStepExecutor(model: CompleteModel, backend: Backend, layout: StepExecutorLayout): StepExecutor {
  const { batched, ...options } = layout;
  return batched && supportsPagedForward(model)
    ? new BatchedStepExecutor(model, backend, options)
    : new PerSequenceStepExecutor(model, backend, options);
}

/** Options of {@link loadScheduler}: the loading options of a pipeline and the scheduler's. */
export type LoadSchedulerOptions = Omit<LoadTextPipelineOptions, 'hooks' | 'capturedDecode'> & SchedulerRuntimeOptions;

/** Loads a model with its tokenizer and chat template onto `options.backend` and builds a scheduler over it. */
export async function loadScheduler(source: ModelSource, options: LoadSchedulerOptions): Promise<Scheduler> {
  const cacheType = checkCacheType(options.cacheType);
  const opened = await openSource(source);
  const tokenizer = tokenizerFromModel(opened);
  const { chatTemplate: explicitTemplate, onProgress: _progress, registry: _registry, ...runtime } = options;
  const chatTemplate = chatTemplateOf(opened, tokenizer, explicitTemplate);
  const tracked = options.onProgress === undefined ? undefined : trackProgress(opened.tensors, options.onProgress);
  const model = await loadModel(
    tracked === undefined ? opened : { ...opened, tensors: tracked.store },
    options.backend,
    {
      contextLength: options.contextLength,
      registry: options.registry,
    },
  );
  tracked?.finish();
  return createScheduler({
    ...runtime,
    model,
    tokenizer,
    ...(chatTemplate === undefined ? {} : { chatTemplate }),
    maxContextLength: model.config.contextLength,
    cacheType,
    onClose: () => model.dispose(),
  });
}
