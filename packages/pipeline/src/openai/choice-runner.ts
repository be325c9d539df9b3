import type { Generation } from '../generation/generation.js';
import type { FinishReason, GenerationDelta, GenerationResult } from '../generation/types.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import type { CheckedRequest } from './check-request.js';
import type { ChatTokenLogprob, CompletionLogprobs, OpenAIFinishReason, OpenAIUsage } from './openai-types.js';

/** An event of a run of n choices: a delta of one choice, or its end. */
export type ChoiceEvent =
  | { readonly index: number; readonly delta: GenerationDelta }
  | { readonly index: number; readonly result: GenerationResult };

/** The n choices of one request, running on a scheduler. */
export interface ChoiceRun {
  /** Prompt tokens. */
  readonly promptTokens: number;
  /** The events of every choice, interleaved as they come; ending the loop early aborts the choices still running. */
  readonly events: AsyncIterable<ChoiceEvent>;
}

/**
 * Submits the request's n choices (choice i seeded with seed + i) to `scheduler`. Submission errors (a bad option, a
 * prompt that does not fit, a full queue) are thrown here, after aborting any choice already submitted. `signal`
 * (a client gone) aborts every choice.
 */
export function runChoices(
  scheduler: Scheduler,
  promptIds: readonly number[],
  request: CheckedRequest,
  signal?: AbortSignal,
): ChoiceRun {
  const controller = new AbortController();
  if (signal !== undefined) {
    if (signal.aborted) controller.abort();
    else signal.addEventListener('abort', () => controller.abort(), { once: true });
  }
  const generations: Generation[] = [];
  try {
    for (let index = 0; index < request.n; index++) {
      const seed = request.options.seed;
      generations.push(
        scheduler.submit(promptIds, {
          ...request.options,
          ...(seed === undefined ? {} : { seed: seed + index }),
          signal: controller.signal,
        }),
      );
    }
  } catch (error) {
    controller.abort();
    throw error;
  }
  return { promptTokens: promptIds.length, events: merge(generations, controller) };
}

async function* merge(generations: readonly Generation[], controller: AbortController): AsyncGenerator<ChoiceEvent> {
  const iterators = generations.map((generation) => generation[Symbol.asyncIterator]());
  const pending = new Map<number, Promise<{ index: number; next: IteratorResult<GenerationDelta, void> }>>();
  const pull = (index: number): void => {
    pending.set(
      index,
      iterators[index]!.next().then((next) => ({ index, next })),
    );
  };
  for (let index = 0; index < iterators.length; index++) pull(index);
  try {
    while (pending.size > 0) {
      const { index, next } = await Promise.race(pending.values());
      if (next.done === true) {
        pending.delete(index);
        yield { index, result: await generations[index]!.result };
      } else {
        pull(index);
        yield { index, delta: next.value };
      }
    }
  } finally {
    // A consumer gone (or an error) aborts the choices still running; their pages are freed by the scheduler.
    controller.abort();
    await Promise.allSettled(pending.values());
    await Promise.allSettled(iterators.map((iterator) => iterator.return?.()));
  }
}

/** OpenAI's finish reason for a strata one. */
export function finishReasonOf(reason: FinishReason): OpenAIFinishReason {
  return reason === 'max-tokens' || reason === 'context-full' ? 'length' : 'stop';
}

/** The usage object of a request. */
export function usageOf(promptTokens: number, results: readonly GenerationResult[]): OpenAIUsage {
  const completion = results.reduce((sum, result) => sum + result.tokens.length, 0);
  return {
    prompt_tokens: promptTokens,
    completion_tokens: completion,
    total_tokens: promptTokens + completion,
    prompt_tokens_details: { cached_tokens: results[0]?.stats.cachedPromptTokens ?? 0 },
  };
}

const encoder = new TextEncoder();

/** Chat log-probability entries of one delta (empty when it carries none). */
export function chatLogprobsOf(delta: GenerationDelta, tokenText: (token: number) => string): ChatTokenLogprob[] {
  if (delta.token === undefined || delta.logprob === undefined) return [];
  const token = tokenText(delta.token);
  return [
    {
      token,
      logprob: delta.logprob,
      bytes: Array.from(encoder.encode(token)),
      top_logprobs: (delta.topLogprobs ?? []).map((entry) => {
        const text = tokenText(entry.token);
        return { token: text, logprob: entry.logprob, bytes: Array.from(encoder.encode(text)) };
      }),
    },
  ];
}

/** Appends one delta to text-completion log-probabilities (`offset`: characters of text before it). */
export function appendCompletionLogprobs(
  target: CompletionLogprobs,
  delta: GenerationDelta,
  offset: number,
  tokenText: (token: number) => string,
): void {
  if (delta.token === undefined || delta.logprob === undefined) return;
  target.tokens.push(tokenText(delta.token));
  target.token_logprobs.push(delta.logprob);
  const top: Record<string, number> = {};
  for (const entry of delta.topLogprobs ?? []) top[tokenText(entry.token)] = entry.logprob;
  target.top_logprobs.push(top);
  target.text_offset.push(offset);
}
