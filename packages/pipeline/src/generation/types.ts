import type { OutputConstraint, ResponseFormat } from '@strata/structured';
import type { SamplingOptions } from '../sampling/sampling-options.js';

/** Options of `generate` and `chat`: sampling, stopping, what to report, and cancellation. */
export interface GenerateOptions extends SamplingOptions {
  /** Most tokens to generate (default 256); generation also stops when the context is full. */
  readonly maxTokens?: number;
  /** Strings that end the generation; they may span tokens and are never shown. */
  readonly stop?: readonly string[];
  /** Extra token ids that end the generation, besides the tokenizer's end-of-generation ids. */
  readonly stopTokens?: readonly number[];
  /** Keep going past the tokenizer's end-of-generation ids (benchmarks, reference comparisons). */
  readonly ignoreEndOfGeneration?: boolean;
  /**
   * Keep going when the context fills during the generation, as llama.cpp's context shift: keep the first `keep` tokens
   * (its `--keep`), drop the older half of the rest, recompute what is kept after them, and go on. Without it the
   * generation ends with `context-full`. `keep` is an integer in [0, contextLength − 2].
   */
  readonly contextShift?: { readonly keep: number };
  /** Stops the generation at the next step; the pipeline stays usable. The result says `aborted`. */
  readonly signal?: AbortSignal;
  /**
   * Log-probabilities (of the model's raw distribution) for each generated token: `true` for the chosen token only, a
   * number n for it and the n most likely tokens. Costs a logits read per step.
   */
  readonly logprobs?: boolean | number;
  /** Put each step's raw logits on its delta (costs a logits read per step). */
  readonly returnLogits?: boolean;
  /** When the prompt is text: add the tokenizer's special tokens (BOS). Default true for `generate`, false for `chat`. */
  readonly addSpecialTokens?: boolean;
  /**
   * Structured output, as OpenAI's `response_format`: `{type: 'json_object'}` or `{type: 'json_schema', json_schema:
   * {name, schema, strict}}`. Each step only tokens the grammar allows are sampled; the end of generation only where
   * it is complete. At most one of `responseFormat`, `grammar`, `regex` and `constraint`.
   */
  readonly responseFormat?: ResponseFormat;
  /** Structured output: a GBNF grammar (llama.cpp's format, start rule `root`). */
  readonly grammar?: string;
  /** Structured output: a regular expression the whole output matches. */
  readonly regex?: string;
  /** Structured output: any `@strata/structured` constraint (such as `grammarForToolChoice`'s). */
  readonly constraint?: OutputConstraint;
}

/** A token and its log-probability. */
export interface TokenLogprob {
  /** Token id. */
  readonly token: number;
  /** Natural log of its probability under the model's raw distribution. */
  readonly logprob: number;
}

/** One step of a streamed generation. */
export interface GenerationDelta {
  /** The generated token; absent only on the final delta that releases held-back text. */
  readonly token?: number;
  /** New text to show (may be empty while a multi-byte character or a possible stop string is held back). */
  readonly text: string;
  /** Log-probability of `token`, when asked. */
  readonly logprob?: number;
  /** The most likely tokens of this step, when asked. */
  readonly topLogprobs?: readonly TokenLogprob[];
  /** Raw logits of this step, when asked. */
  readonly logits?: Float32Array;
}

/** Why a generation ended. */
export type FinishReason = 'stop-token' | 'stop-string' | 'max-tokens' | 'context-full' | 'aborted';

/** Timings of a generation. Rates are tokens per second of wall time. */
export interface GenerationStats {
  /** Tokens of the prompt. */
  readonly promptTokens: number;
  /** Leading prompt tokens whose cache entries were reused from the previous request. */
  readonly cachedPromptTokens: number;
  /** Tokens generated (the stop token included). */
  readonly generatedTokens: number;
  /** Milliseconds waiting for the pipeline (other requests ahead in the queue). */
  readonly queueMs: number;
  /** Milliseconds from the start of the work to the first generated token. */
  readonly timeToFirstTokenMs: number;
  /** Prompt tokens computed (not reused) per second of prefill (which includes choosing the first token). */
  readonly prefillTokensPerSecond: number;
  /** Tokens generated after the first, per second. */
  readonly decodeTokensPerSecond: number;
  /** Milliseconds of the whole generation (queue excluded). */
  readonly totalMs: number;
}

/** The outcome of a generation. */
export interface GenerationResult {
  /** All text shown (stop strings excluded). */
  readonly text: string;
  /** Generated token ids, in order (a stop token included). */
  readonly tokens: readonly number[];
  /** Why it ended. */
  readonly finishReason: FinishReason;
  /** The stop string that ended it, when `finishReason` is `stop-string`. */
  readonly stopString?: string;
  /** Timings. */
  readonly stats: GenerationStats;
}
