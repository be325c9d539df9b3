import { StrataError } from '@strata/core';
import type { SequenceState } from '../cache/sequence-state.js';
import { normalizeSamplingOptions } from '../sampling/sampling-options.js';
import { TokenSampler } from '../sampling/token-sampler.js';
import { StopStringMatcher } from '../text/stop-strings.js';
import type { PipelineTokenizer } from '../text/tokenizer.js';
import type { ModelExecutor } from './executor.js';
import { Generation, type GenerationChannel } from './generation.js';
import { deltaOf } from './logprobs.js';
import type { RequestQueue } from './request-queue.js';
import { ConstrainedChoice, outputConstraintOf } from './structured-output.js';
import type { FinishReason, GenerateOptions, GenerationResult } from './types.js';

/** What one sequence's generation runs on. */
export interface GenerationContext {
  /** Runs the forward steps (one device or stages); its `contextLength` bounds prompt plus generated tokens. */
  readonly executor: ModelExecutor;
  /** Decodes generated tokens into streamed text (special tokens skipped) and names the end-of-generation ids. */
  readonly tokenizer: PipelineTokenizer;
  /** Tokens already in the executor's caches: a matching prompt prefix is reused, the rest truncated and recomputed. */
  readonly sequence: SequenceState;
  /** Runs the requests on this sequence one after another, never interleaved. */
  readonly queue: RequestQueue;
}

const DEFAULT_MAX_TOKENS = 256;

/** Checks the non-sampling options of a generation. */
function checkOptions(options: GenerateOptions, contextLength: number): number {
  const maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS;
  if (!Number.isInteger(maxTokens) || maxTokens < 1) {
    throw new StrataError('INVALID_ARGUMENT', `maxTokens is ${maxTokens}; it must be an integer ≥ 1.`, {
      details: { maxTokens },
    });
  }
  const shift = options.contextShift;
  if (shift !== undefined && !(Number.isInteger(shift.keep) && shift.keep >= 0 && shift.keep <= contextLength - 2)) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `contextShift keeps ${shift.keep} tokens; keep must be an integer in [0, ${contextLength - 2}] (the context holds ${contextLength}).`,
      { details: { keep: shift.keep, contextLength } },
    );
  }
  const top = options.logprobs;
  if (typeof top === 'number' && (!Number.isInteger(top) || top < 0)) {
    throw new StrataError('INVALID_ARGUMENT', `logprobs is ${top}; it must be true, false or an integer ≥ 0.`, {
      details: { logprobs: top },
    });
  }
  return maxTokens;
}

/**
 * Starts one generation: checks the options (throwing before anything is queued), then queues the work on the
 * sequence. Once its turn comes it reuses the cached prefix, prefills the rest in chunks, then decodes one token per step
 * until a stop condition, all driven by the queue rather than by whoever reads the deltas. An abort (the caller's
 * signal, or the consumer leaving its loop) ends a queued generation at once and a running one after its current step.
 */
export function startGeneration(
  context: GenerationContext,
  promptIds: readonly number[],
  options: GenerateOptions,
): Generation {
  const { executor, tokenizer, sequence, queue } = context;
  const sampling = normalizeSamplingOptions(options, executor.vocabularySize);
  const maxTokens = checkOptions(options, executor.contextLength);
  const constraint = outputConstraintOf(options);
  if (promptIds.length === 0) {
    throw new StrataError('INVALID_ARGUMENT', 'The prompt is empty: give at least one token.');
  }
  for (const id of promptIds) {
    if (!Number.isInteger(id) || id < 0 || id >= executor.vocabularySize) {
      throw new StrataError(
        'TOKEN_OUT_OF_RANGE',
        `Prompt token ${id} is outside the vocabulary [0, ${executor.vocabularySize}).`,
        {
          details: { token: id, vocabularySize: executor.vocabularySize },
        },
      );
    }
  }
  if (promptIds.length >= executor.contextLength) {
    throw new StrataError(
      'CONTEXT_OVERFLOW',
      `The prompt has ${promptIds.length} tokens but the context holds ${executor.contextLength}; load the pipeline with a larger contextLength or shorten the prompt.`,
      { details: { promptTokens: promptIds.length, contextLength: executor.contextLength } },
    );
  }
  const stopIds = new Set<number>(options.stopTokens ?? []);
  if (options.ignoreEndOfGeneration !== true) for (const id of tokenizer.endOfGenerationIds) stopIds.add(id);
  const topLogprobs = options.logprobs === true ? 0 : typeof options.logprobs === 'number' ? options.logprobs : -1;
  const wantLogits = options.returnLogits === true || topLogprobs >= 0;

  return new Generation(
    (channel) =>
      new Promise<GenerationResult>((resolve, reject) => {
        const queued = performance.now();
        const signals = [channel.stopped, ...(options.signal === undefined ? [] : [options.signal])];
        let running = false;
        // Aborted while still queued: end now, with nothing computed; the queue skips the job when its turn comes.
        const onAbort = () => {
          if (!running) resolve(emptyResult(queued, promptIds.length));
        };
        for (const signal of signals) signal.addEventListener('abort', onAbort, { once: true });
        const detach = () => {
          for (const signal of signals) signal.removeEventListener('abort', onAbort);
        };
        const aborted = () => signals.some((signal) => signal.aborted);
        if (aborted()) onAbort();
        queue
          .run(async () => {
            running = true;
            detach();
            if (aborted()) return;
            resolve(await steps(channel, aborted, queued));
          })
          .catch(reject);
      }),
  );

  async function steps(channel: GenerationChannel, aborted: () => boolean, queued: number): Promise<GenerationResult> {
    // With a constraint, each step's choice carries the grammar's allowed-token bitmask (one small upload).
    const constrained =
      constraint === undefined
        ? undefined
        : await ConstrainedChoice.open(tokenizer, constraint, executor.vocabularySize);
    try {
      return await constrainedSteps(channel, aborted, queued, constrained);
    } finally {
      constrained?.dispose();
    }
  }

  async function constrainedSteps(
    channel: GenerationChannel,
    aborted: () => boolean,
    queued: number,
    constrained: ConstrainedChoice | undefined,
  ): Promise<GenerationResult> {
    const started = performance.now();
    const sampler = new TokenSampler(sampling);
    const decoder = tokenizer.createStreamDecoder({ skipSpecial: true });
    const stopper = new StopStringMatcher(options.stop ?? []);
    const history: number[] = promptIds.slice();
    const choose = () => {
      const choice = sampler.next(history);
      return constrained === undefined ? choice : constrained.restrict(choice);
    };
    const generated: number[] = [];
    let text = '';
    let finishReason: FinishReason | undefined;
    let stopString: string | undefined;
    let firstTokenAt = started;
    let cachedPromptTokens = 0;
    const report = (): GenerationResult => ({
      text,
      tokens: generated,
      finishReason: finishReason ?? 'aborted',
      ...(stopString === undefined ? {} : { stopString }),
      stats: statsOf(started, queued, firstTokenAt, promptIds.length, cachedPromptTokens, generated.length),
    });
    // ── prefill: keep the cached prefix, compute the rest in chunks; the last chunk chooses the first token ──
    cachedPromptTokens = sequence.reusablePrefix(promptIds, executor.cacheGeometry);
    sequence.truncate(cachedPromptTokens);
    let step: { token?: number; logits?: Float32Array } = {};
    for (let position = cachedPromptTokens; position < promptIds.length && !aborted(); ) {
      const end = Math.min(promptIds.length, position + executor.chunkSize);
      const last = end === promptIds.length;
      const ids = Int32Array.from(promptIds.slice(position, end));
      step = await executor.forward({
        ids,
        firstPosition: position,
        ...(last ? { choice: choose(), returnLogits: wantLogits } : {}),
      });
      sequence.append(ids);
      position = end;
    }
    firstTokenAt = performance.now();
    // ── decode: one token per step ──
    while (step.token !== undefined) {
      const token = step.token;
      generated.push(token);
      history.push(token);
      constrained?.accept(token);
      if (stopIds.has(token) || constrained?.complete === true) {
        finishReason = 'stop-token';
        break;
      }
      const match = stopper.push(decoder.push(token));
      text += match.text;
      await channel.emit(deltaOf(token, match.text, step.logits, topLogprobs, options.returnLogits === true));
      if (match.stop !== undefined) {
        finishReason = 'stop-string';
        stopString = match.stop;
        break;
      }
      if (generated.length >= maxTokens) {
        finishReason = 'max-tokens';
        break;
      }
      if (sequence.length >= executor.contextLength) {
        if (options.contextShift === undefined) {
          finishReason = 'context-full';
          break;
        }
        if (aborted()) break;
        await shiftContext(executor, sequence, options.contextShift.keep, aborted);
      }
      if (aborted()) break;
      step = await executor.forward({
        ids: Int32Array.of(token),
        firstPosition: sequence.length,
        // Not awaited: a grammar's mask is computed while the device runs the step (see ForwardRequest.choice).
        choice: choose(),
        returnLogits: wantLogits,
      });
      sequence.append([token]);
    }
    if (finishReason !== 'stop-string') {
      const rest = stopper.push(decoder.flush());
      const tail = rest.text + (rest.stop === undefined ? stopper.flush() : '');
      if (rest.stop !== undefined) {
        finishReason = 'stop-string';
        stopString = rest.stop;
      }
      if (tail.length > 0) {
        text += tail;
        await channel.emit({ text: tail });
      }
    }
    return report();
  }
}

/** The result of a generation aborted before its turn came. */
function emptyResult(queued: number, promptTokens: number): GenerationResult {
  const now = performance.now();
  return {
    text: '',
    tokens: [],
    finishReason: 'aborted',
    stats: {
      promptTokens,
      cachedPromptTokens: 0,
      generatedTokens: 0,
      queueMs: now - queued,
      timeToFirstTokenMs: 0,
      prefillTokensPerSecond: 0,
      decodeTokensPerSecond: 0,
      totalMs: 0,
    },
  };
}

/**
 * llama.cpp's context shift on a full cache: keeps the first `keep` tokens, drops the older half of the rest, and
 * recomputes what is kept after them at their new positions (the cache's rows are rewritten, not rotated in place).
 */
async function shiftContext(
  executor: ModelExecutor,
  sequence: SequenceState,
  keep: number,
  aborted: () => boolean,
): Promise<void> {
  const tokens = sequence.snapshot();
  const discard = Math.max(1, Math.floor((tokens.length - keep) / 2));
  const shifted = [...tokens.slice(0, keep), ...tokens.slice(keep + discard)];
  const reused = sequence.reusablePrefix([...shifted, 0], executor.cacheGeometry);
  sequence.truncate(reused);
  for (let position = reused; position < shifted.length && !aborted(); ) {
    const end = Math.min(shifted.length, position + executor.chunkSize);
    const ids = Int32Array.from(shifted.slice(position, end));
    await executor.forward({ ids, firstPosition: position });
    sequence.append(ids);
    position = end;
  }
}

function statsOf(
  started: number,
  queued: number,
  firstTokenAt: number,
  promptTokens: number,
  cachedPromptTokens: number,
  generatedTokens: number,
): GenerationResult['stats'] {
  const now = performance.now();
  const prefillMs = firstTokenAt - started;
  const decodeMs = now - firstTokenAt;
  return {
    promptTokens,
    cachedPromptTokens,
    generatedTokens,
    queueMs: started - queued,
    timeToFirstTokenMs: prefillMs,
    prefillTokensPerSecond: prefillMs > 0 ? ((promptTokens - cachedPromptTokens) * 1000) / prefillMs : 0,
    decodeTokensPerSecond: decodeMs > 0 && generatedTokens > 1 ? ((generatedTokens - 1) * 1000) / decodeMs : 0,
    totalMs: now - started,
  };
}
