import { StrataError } from '@strata/core';
import { outputConstraintOf } from '../generation/structured-output.js';
import type { GenerateOptions } from '../generation/types.js';
import type { normalizeSamplingOptions } from '../sampling/sampling-options.js';
import type { SequenceSettings } from './scheduled-sequence.js';

/** What a request is checked against. */
export interface SequenceLimits {
  /** Logit columns (prompt ids and logit-bias ids must be below it). */
  readonly vocabularySize: number;
  /** Tokens one sequence may hold. */
  readonly contextLength: number;
  /** Tokens the whole KV budget holds. */
  readonly budgetTokens: number;
  /** The tokenizer's end-of-generation ids. */
  readonly endOfGenerationIds: Iterable<number>;
  /** The sampling-option checker. */
  readonly normalize: typeof normalizeSamplingOptions;
}

/**
 * Checks a request and turns it into a sequence's settings: sampling options (`INVALID_SAMPLING_OPTIONS`), `maxTokens`
 * and `logprobs` (`INVALID_ARGUMENT`), the prompt (`INVALID_ARGUMENT` when empty, `TOKEN_OUT_OF_RANGE`,
 * `CONTEXT_OVERFLOW` with the numbers when it does not fit the context or the KV budget).
 */
export function checkSequenceRequest(
  promptIds: readonly number[],
  options: GenerateOptions,
  limits: SequenceLimits,
): SequenceSettings {
  const sampling = limits.normalize(options, limits.vocabularySize);
  // Without a limit, a sequence may fill its context or the whole KV budget, whichever is smaller.
  const room = Math.min(limits.contextLength, limits.budgetTokens) - promptIds.length;
  const maxTokens = options.maxTokens ?? Math.max(1, room);
  if (!Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new StrataError('INVALID_ARGUMENT', `maxTokens is ${maxTokens}; it must be an integer ≥ 1.`, {
      details: { maxTokens },
    });
  }
  const top = options.logprobs;
  if (typeof top === 'number' && (!Number.isInteger(top) || top < 0)) {
    throw new StrataError('INVALID_ARGUMENT', `logprobs is ${top}; it must be true, false or an integer ≥ 0.`, {
      details: { logprobs: top },
    });
  }
  if (promptIds.length === 0)
    throw new StrataError('INVALID_ARGUMENT', 'The prompt is empty: give at least one token.');
  for (const id of promptIds) {
    if (!Number.isInteger(id) || id < 0 || id >= limits.vocabularySize) {
      throw new StrataError(
        'TOKEN_OUT_OF_RANGE',
        `Prompt token ${id} is outside the vocabulary [0, ${limits.vocabularySize}).`,
        { details: { token: id, vocabularySize: limits.vocabularySize } },
      );
    }
  }
  if (promptIds.length >= limits.contextLength) {
    throw new StrataError(
      'CONTEXT_OVERFLOW',
      `The prompt has ${promptIds.length} tokens but the context holds ${limits.contextLength} (at least one token must be generated); shorten the prompt.`,
      { details: { promptTokens: promptIds.length, contextLength: limits.contextLength } },
    );
  }
  const needed = Math.min(limits.contextLength, promptIds.length + maxTokens);
  if (needed > limits.budgetTokens) {
    throw new StrataError(
      'CONTEXT_OVERFLOW',
      `The request needs up to ${needed} tokens of KV cache (${promptIds.length} prompt + ${maxTokens} to generate) but the whole KV budget holds ${limits.budgetTokens}; lower max tokens or raise the KV budget.`,
      { details: { promptTokens: promptIds.length, maxTokens, budgetTokens: limits.budgetTokens } },
    );
  }
  const constraint = outputConstraintOf(options);
  const stopIds = new Set<number>(options.stopTokens ?? []);
  if (options.ignoreEndOfGeneration !== true) for (const id of limits.endOfGenerationIds) stopIds.add(id);
  return {
    promptIds: promptIds.slice(),
    sampling,
    maxTokens,
    stopIds,
    stop: options.stop ?? [],
    topLogprobs: options.logprobs === true ? 0 : typeof options.logprobs === 'number' ? options.logprobs : -1,
    returnLogits: options.returnLogits === true,
    contextLength: limits.contextLength,
    ...(constraint === undefined ? {} : { constraint }),
  };
}
