import { StrataError } from '@strata/core';

/**
 * How the next token is chosen. Every field is optional; the defaults are greedy decoding (temperature 0) with no
 * filters and no penalties. Filters apply in the order penalties → logit bias → temperature → top-k → top-p → min-p.
 */
export interface SamplingOptions {
  /** 0 (the default) is greedy; otherwise logits are divided by it. Finite and ≥ 0. */
  readonly temperature?: number;
  /** Keep the k most likely tokens; 0 (the default) disables. A non-negative integer. */
  readonly topK?: number;
  /** Keep the smallest set of tokens whose probability reaches p; 1 (the default) disables. In (0, 1]. */
  readonly topP?: number;
  /** Drop tokens less likely than minP × the most likely one; 0 (the default) disables. In [0, 1]. */
  readonly minP?: number;
  /** llama.cpp's repetition penalty (positive logits divided, negative multiplied); 1 disables. Finite and > 0. */
  readonly repetitionPenalty?: number;
  /** Subtracted once from every token seen in the penalty window; 0 disables. Finite. */
  readonly presencePenalty?: number;
  /** Subtracted once per occurrence in the penalty window; 0 disables. Finite. */
  readonly frequencyPenalty?: number;
  /** How many of the last tokens (prompt included) the penalties look at; default 64, −1 for the whole context. */
  readonly penaltyWindow?: number;
  /** Added to the logits of the given token ids; −Infinity bans a token. */
  readonly logitBias?: Readonly<Record<number, number>> | ReadonlyMap<number, number>;
  /** Seed of the pipeline's random generator: the same seed gives the same tokens. Default: a fresh random seed. */
  readonly seed?: number;
}

/** {@link SamplingOptions} checked and with every default filled in. */
export interface NormalizedSamplingOptions {
  /** Finite and ≥ 0; 0 (default) is greedy, otherwise the logits are divided by it. */
  readonly temperature: number;
  /** Integer ≥ 0; 0 (default) keeps every token. */
  readonly topK: number;
  /** In (0, 1]; 1 (default) disables nucleus filtering. */
  readonly topP: number;
  /** In [0, 1]; 0 (default) disables the min-p filter. */
  readonly minP: number;
  /** Finite and > 0; 1 (default) disables. Positive logits are divided by it, negative ones multiplied. */
  readonly repetitionPenalty: number;
  /** Finite; subtracted once from each token in the penalty window. 0 (default) disables. */
  readonly presencePenalty: number;
  /** Finite; subtracted once per occurrence in the penalty window. 0 (default) disables. */
  readonly frequencyPenalty: number;
  /** −1 for the whole context. */
  readonly penaltyWindow: number;
  /** Distinct token ids of `logitBias`, each in `[0, vocabularySize)` when that was given; empty for no bias. */
  readonly logitBiasTokens: Int32Array;
  /** Biases matching `logitBiasTokens` one to one: finite, or −Infinity to ban the token. */
  readonly logitBiasValues: Float32Array;
  /** Safe integer seeding the pipeline's random generator; a fresh random 32-bit seed when none was given. */
  readonly seed: number;
  /** True when sampling reduces to argmax of the raw logits (no randomness, penalties or bias). */
  readonly isPlainGreedy: boolean;
}

function invalid(option: string, value: unknown, range: string): StrataError {
  return new StrataError(
    'INVALID_SAMPLING_OPTIONS',
    `Sampling option '${option}' is ${String(value)}; it must be ${range}.`,
    { details: { option, value, range } },
  );
}

function checkNumber(
  option: string,
  value: number | undefined,
  fallback: number,
  range: string,
  valid: (value: number) => boolean,
): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || Number.isNaN(value) || !valid(value)) throw invalid(option, value, range);
  return value;
}

/**
 * Checks sampling options and fills in defaults. Throws `INVALID_SAMPLING_OPTIONS` naming the option and its valid range
 * (negative temperature, top-p outside (0, 1], a non-integer top-k, NaN, …). `vocabularySize`, when given, bounds the
 * logit-bias token ids.
 */
export function normalizeSamplingOptions(
  options: SamplingOptions = {},
  vocabularySize?: number,
): NormalizedSamplingOptions {
  const temperature = checkNumber(
    'temperature',
    options.temperature,
    0,
    'a finite number ≥ 0 (0 is greedy)',
    (value) => Number.isFinite(value) && value >= 0,
  );
  const topK = checkNumber(
    'topK',
    options.topK,
    0,
    'an integer ≥ 0 (0 disables)',
    (value) => Number.isInteger(value) && value >= 0,
  );
  const topP = checkNumber('topP', options.topP, 1, 'in (0, 1] (1 disables)', (value) => value > 0 && value <= 1);
  const minP = checkNumber('minP', options.minP, 0, 'in [0, 1] (0 disables)', (value) => value >= 0 && value <= 1);
  const repetitionPenalty = checkNumber(
    'repetitionPenalty',
    options.repetitionPenalty,
    1,
    'a finite number > 0 (1 disables)',
    (value) => Number.isFinite(value) && value > 0,
  );
  const presencePenalty = checkNumber(
    'presencePenalty',
    options.presencePenalty,
    0,
    'a finite number (0 disables)',
    Number.isFinite,
  );
  const frequencyPenalty = checkNumber(
    'frequencyPenalty',
    options.frequencyPenalty,
    0,
    'a finite number (0 disables)',
    Number.isFinite,
  );
  const penaltyWindow = checkNumber(
    'penaltyWindow',
    options.penaltyWindow,
    64,
    'an integer ≥ 0, or −1 for the whole context',
    (value) => Number.isInteger(value) && value >= -1,
  );
  const seed = checkNumber(
    'seed',
    options.seed,
    Math.floor(Math.random() * 2 ** 32),
    'a safe integer',
    Number.isSafeInteger,
  );
  const entries: [number, number][] =
    options.logitBias === undefined
      ? []
      : options.logitBias instanceof Map
        ? [...(options.logitBias as ReadonlyMap<number, number>).entries()]
        : Object.entries(options.logitBias).map(([token, bias]) => [Number(token), bias as number]);
  for (const [token, bias] of entries) {
    const limit = vocabularySize === undefined ? '' : ` < ${vocabularySize}`;
    if (!Number.isInteger(token) || token < 0 || (vocabularySize !== undefined && token >= vocabularySize)) {
      throw invalid(`logitBias[${token}]`, token, `a token id: an integer ≥ 0${limit}`);
    }
    if (typeof bias !== 'number' || Number.isNaN(bias) || bias === Number.POSITIVE_INFINITY) {
      throw invalid(`logitBias[${token}]`, bias, 'a finite number, or −Infinity to ban the token');
    }
  }
  const hasPenalties = repetitionPenalty !== 1 || presencePenalty !== 0 || frequencyPenalty !== 0;
  return {
    temperature,
    topK,
    topP,
    minP,
    repetitionPenalty,
    presencePenalty,
    frequencyPenalty,
    penaltyWindow: hasPenalties ? penaltyWindow : 0,
    logitBiasTokens: Int32Array.from(entries, ([token]) => token),
    logitBiasValues: Float32Array.from(entries, ([, bias]) => bias),
    seed,
    isPlainGreedy: temperature === 0 && !hasPenalties && entries.length === 0,
  };
}
