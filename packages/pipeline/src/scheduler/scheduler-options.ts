import { StrataError } from '@strata/core';
import type { PrefixCacheCounters } from './prefix-cache.js';
import type { StepAheadCounters } from './step-ahead.js';
import type { PipelineChatTemplate, PipelineTokenizer } from '../text/tokenizer.js';
import { budgetTokensOf, bytesPerPosition, defaultGroupPages, splitPageBudget } from './page-groups.js';
import type { StepExecutor } from './step-executor.js';

/** Limits of a {@link Scheduler}. */
export interface SchedulerOptions {
  /** Sequences running at once (`--parallel`); default 4. */
  readonly parallel?: number;
  /** Sequences that may wait for a free slot; a request beyond it is refused. Default 64. */
  readonly maxWaiting?: number;
  /**
   * Bytes of KV memory (`--kv-budget`): the pools of pages every sequence and the prefix cache draw from, split
   * between the page groups (full-attention layers, each sliding window) by `splitPageBudget`. Default: room for
   * `parallel` full contexts (a windowed group: what `parallel` running sequences can hold in its window).
   */
  readonly kvCacheBytes?: number;
  /** Tokens one step feeds at most (decode tokens first, then prefill chunks); default the executor's chunk size. */
  readonly stepTokenBudget?: number;
  /** Share page-aligned prompt prefixes between requests (default true). */
  readonly prefixCache?: boolean;
  /** Called after every engine step (metrics: a step-time histogram). */
  readonly onStep?: (report: StepReport) => void;
  /**
   * Launch each step of greedy decode rows one step ahead, while the previous one is read back (`StepAhead`), where
   * the executor can (`StepAheadExecutor`: the batched executor). Default: where launching only records work the
   * device runs later (WebGPU), not on the CPU, where it would change the order of work, not its amount. True turns
   * it on wherever the executor can (tests on the CPU), false off (an A/B).
   */
  readonly stepAhead?: boolean;
}

/** {@link SchedulerOptions} checked, with defaults, and the page count of the budget. */
export interface ResolvedSchedulerOptions {
  /** Running sequences at most. */
  readonly parallel: number;
  /** Waiting sequences at most. */
  readonly maxWaiting: number;
  /** Pages of the budget in each page group (the executor's `pageGroups` order). */
  readonly groupPages: readonly number[];
  /** Tokens one sequence alone can always hold in the budget (`budgetTokensOf`). */
  readonly budgetTokens: number;
  /** Tokens per step at most. */
  readonly stepTokenBudget: number;
  /** Whether prefixes are cached. */
  readonly prefixCache: boolean;
  /** The step callback. */
  readonly onStep: ((report: StepReport) => void) | undefined;
  /** Steps ahead on, off, or (undefined) where the executor's steps are deferred. */
  readonly stepAhead: boolean | undefined;
}

/** Gauges of one page group of a scheduler (see `StepExecutorBase.pageGroups`). */
export interface PageGroupMetrics {
  /** The sliding window of the group's layers; undefined for the full-attention layers. */
  readonly window: number | undefined;
  /** Bytes of one page of the group. */
  readonly bytesPerPage: number;
  /** Pages of the group's pool. */
  readonly totalPages: number;
  /** Pages held by sequences and cached prefixes. */
  readonly usedPages: number;
  /** Pages free. */
  readonly freePages: number;
  /** Pages held by prefix-cache blocks (some of them also in running sequences' page tables). */
  readonly cachedPages: number;
}

/** Gauges and counters of a scheduler. */
export interface SchedulerMetrics {
  /** Sequences waiting for a slot (or for pages). */
  readonly waiting: number;
  /** Sequences running. */
  readonly running: number;
  /** Pages of the KV budget, every group's together. */
  readonly totalPages: number;
  /** Pages held by sequences and cached prefixes, every group's together. */
  readonly usedPages: number;
  /** Pages free, every group's together. */
  readonly freePages: number;
  /** Bytes of one page in every group together (`pageSize` positions of every layer). */
  readonly bytesPerPage: number;
  /** The same gauges per page group (one group unless some layers have a sliding window). */
  readonly pageGroups: readonly PageGroupMetrics[];
  /** Prefix-cache counters. */
  readonly prefixCache: PrefixCacheCounters;
  /** Steps launched one ahead (guesses), used as the next step, and dropped (all 0 when stepping ahead is off). */
  readonly stepsAhead: StepAheadCounters;
  /** Prompt tokens computed (cached ones not counted). */
  readonly promptTokens: number;
  /** Tokens generated. */
  readonly generatedTokens: number;
  /** Times a sequence was preempted. */
  readonly preemptions: number;
  /** Engine steps run. */
  readonly steps: number;
  /** Requests accepted. */
  readonly requests: number;
}

function positiveInteger(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!Number.isInteger(value) || value < 1) {
    throw new StrataError('INVALID_ARGUMENT', `${name} is ${value}; it must be an integer ≥ 1.`, {
      details: { [name]: value },
    });
  }
  return value;
}

/** Checks scheduler options against the executor and fills in the defaults. */
export function resolveSchedulerOptions(options: SchedulerOptions, executor: StepExecutor): ResolvedSchedulerOptions {
  const parallel = positiveInteger('parallel', options.parallel, 4);
  const maxWaiting = positiveInteger('maxWaiting', options.maxWaiting, 64);
  const stepTokenBudget = positiveInteger('stepTokenBudget', options.stepTokenBudget, executor.chunkSize);
  const shape = {
    groups: executor.pageGroups,
    parallel,
    contextLength: executor.contextLength,
    chunkSize: executor.chunkSize,
    pageSize: executor.pageSize,
  };
  const bytes = options.kvCacheBytes;
  const groupPages = bytes === undefined ? defaultGroupPages(shape) : splitPageBudget(bytes, shape);
  const bytesPerPage = bytesPerPosition(executor.pageGroups);
  if ((bytes !== undefined && !Number.isFinite(bytes)) || groupPages.some((pages) => pages < 1)) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `kvCacheBytes is ${bytes}; one page of ${executor.pageSize} tokens of every layer takes ${bytesPerPage} bytes, so give at least that.`,
      { details: { kvCacheBytes: bytes, bytesPerPage } },
    );
  }
  return {
    parallel,
    maxWaiting,
    groupPages,
    budgetTokens: budgetTokensOf(groupPages, shape),
    stepTokenBudget,
    prefixCache: options.prefixCache ?? true,
    onStep: options.onStep,
    stepAhead: options.stepAhead,
  };
}

/** What one engine step did, for metrics (see {@link SchedulerOptions.onStep}). */
export interface StepReport {
  /** Wall time of the step (pages, forward, read-back), in milliseconds. */
  readonly milliseconds: number;
  /** Rows (sequences) in the step. */
  readonly rows: number;
  /** Tokens fed in the step (prefill chunks and decode tokens). */
  readonly tokens: number;
  /** Whether the step's forward was launched one step ahead, while the previous step was read back (`stepAhead`). */
  readonly ahead: boolean;
}

/** What a scheduler runs on. */
export interface SchedulerParts {
  /** Runs the engine steps and owns the pages' storage. */
  readonly executor: StepExecutor;
  /** Text ↔ ids, end-of-generation ids, streamed decoding. */
  readonly tokenizer: PipelineTokenizer;
  /** The chat template, when the model has one (needed by `chat`). */
  readonly chatTemplate?: PipelineChatTemplate;
  /** Called once the scheduler closed (a loader passes the model's `dispose`). */
  readonly onClose?: () => void;
}
