import { type RopePairing, type RopeParameters, StrataError } from '@strata/core';

/** No rescaling: θ_i = base^(−2i/d). */
export interface DefaultRopeScaling {
  /** Tag of this variant of {@link RopeScaling} (transformers' `rope_type` absent or `default`). */
  readonly kind: 'default';
}

/** Position interpolation: every frequency divided by `factor`. */
export interface LinearRopeScaling {
  /** Tag of this variant of {@link RopeScaling} (`rope_type: linear`). */
  readonly kind: 'linear';
  /** Divides every inverse frequency. */
  readonly factor: number;
}

/** Llama 3.1: low frequencies divided by `factor`, high ones kept, a smooth ramp in between. */
export interface Llama3RopeScaling {
  /** Tag of this variant of {@link RopeScaling} (`rope_type: llama3`). */
  readonly kind: 'llama3';
  /** Divides the low frequencies (8 for Llama 3.1). */
  readonly factor: number;
  /** Wavelengths longer than originalContextLength / lowFrequencyFactor are fully scaled. */
  readonly lowFrequencyFactor: number;
  /** Wavelengths shorter than originalContextLength / highFrequencyFactor are kept. */
  readonly highFrequencyFactor: number;
  /** The context length the model was pre-trained with. */
  readonly originalContextLength: number;
}

/** YaRN: interpolation and extrapolation mixed per frequency by a linear ramp, plus an attention factor on cos/sin. */
export interface YarnRopeScaling {
  /** Tag of this variant of {@link RopeScaling} (`rope_type: yarn`). */
  readonly kind: 'yarn';
  /** Context extension factor. */
  readonly factor: number;
  /** The context length the model was pre-trained with. */
  readonly originalContextLength: number;
  /** Rotations above which a frequency is extrapolated (default 32). */
  readonly betaFast?: number;
  /** Rotations below which a frequency is interpolated (default 1). */
  readonly betaSlow?: number;
  /** Explicit attention factor; otherwise computed from factor, mscale and mscaleAllDimensions. */
  readonly attentionFactor?: number;
  /** DeepSeek-style mscale (numerator). */
  readonly mscale?: number;
  /** DeepSeek-style mscale_all_dim (denominator). */
  readonly mscaleAllDimensions?: number;
  /** Round the ramp bounds to whole dimensions (default true, as transformers and llama.cpp do). */
  readonly truncate?: boolean;
}

/** LongRoPE (Phi-3): per-frequency factors, the long set when the context exceeds the pre-training length. */
export interface LongRopeScaling {
  /** Tag of this variant of {@link RopeScaling} (`rope_type: longrope`; `su` in older configs). */
  readonly kind: 'longrope';
  /** Factors used within the original context, length rotaryDimensions / 2. */
  readonly shortFactors: readonly number[];
  /** Factors used beyond it, same length. */
  readonly longFactors: readonly number[];
  /** The context length the model was pre-trained with. */
  readonly originalContextLength: number;
  /** The extended context length the model supports (max_position_embeddings). */
  readonly extendedContextLength: number;
  /** Explicit attention factor; otherwise √(1 + ln(extended/original) / ln(original)). */
  readonly attentionFactor?: number;
}

/** Explicit per-frequency divisors (GGUF `rope_freqs.weight`, which llama.cpp's converter writes for Llama 3.1). */
export interface FrequencyFactorsRopeScaling {
  /** Tag of this variant of {@link RopeScaling} (from a GGUF `rope_freqs.weight`). */
  readonly kind: 'frequency-factors';
  /** θ_i is divided by factors[i]; length rotaryDimensions / 2. */
  readonly factors: readonly number[];
}

/** Every RoPE scaling scheme strata knows, as plain data (what configs parse into). */
export type RopeScaling =
  | FrequencyFactorsRopeScaling
  | DefaultRopeScaling
  | LinearRopeScaling
  | Llama3RopeScaling
  | YarnRopeScaling
  | LongRopeScaling;

/** The part of a rotary embedding that does not depend on the scheme. */
export interface RotarySettings {
  /** Size of one head. */
  readonly headDimensions: number;
  /** Leading dimensions of each head that rotate; defaults to headDimensions. */
  readonly rotaryDimensions?: number;
  /** θ base (rope_theta, `<arch>.rope.freq_base`). */
  readonly base: number;
  /** Which elements rotate together; decided by the weight format (see `RopePairing`). */
  readonly pairing: RopePairing;
}

/** Options of {@link ropeParameters}. */
export interface RopeContextOptions {
  /** The context length the caller will run (LongRoPE picks its long factors beyond the original length). */
  readonly contextLength?: number;
}

function checkSettings(settings: RotarySettings): number {
  const rotaryDimensions = settings.rotaryDimensions ?? settings.headDimensions;
  if (
    !Number.isInteger(rotaryDimensions) ||
    rotaryDimensions <= 0 ||
    rotaryDimensions % 2 !== 0 ||
    rotaryDimensions > settings.headDimensions
  ) {
    throw new StrataError(
      'INVALID_CONFIG',
      `Rotary dimensions must be even, positive and at most the head size ${settings.headDimensions}; got ${rotaryDimensions}.`,
      { details: { rotaryDimensions, headDimensions: settings.headDimensions } },
    );
  }
  if (!(settings.base > 0)) {
    throw new StrataError('INVALID_CONFIG', `RoPE base must be positive; got ${settings.base}.`, {
      details: { base: settings.base },
    });
  }
  return rotaryDimensions;
}

/** base^(−2i/d) for i < d/2, computed in double precision. */
function baseFrequencies(base: number, rotaryDimensions: number): Float64Array {
  const frequencies = new Float64Array(rotaryDimensions / 2);
  for (let index = 0; index < frequencies.length; index++)
    frequencies[index] = 1 / base ** ((2 * index) / rotaryDimensions);
  return frequencies;
}

function requirePositive(value: number, name: string): void {
  if (!(value > 0) || !Number.isFinite(value)) {
    throw new StrataError('INVALID_CONFIG', `RoPE scaling '${name}' must be a positive number; got ${value}.`, {
      details: { [name]: value },
    });
  }
}

function llama3Frequencies(frequencies: Float64Array, scaling: Llama3RopeScaling): void {
  requirePositive(scaling.factor, 'factor');
  requirePositive(scaling.originalContextLength, 'original_max_position_embeddings');
  if (!(scaling.highFrequencyFactor > scaling.lowFrequencyFactor)) {
    throw new StrataError('INVALID_CONFIG', 'Llama-3 RoPE needs high_freq_factor > low_freq_factor.', {
      details: { lowFrequencyFactor: scaling.lowFrequencyFactor, highFrequencyFactor: scaling.highFrequencyFactor },
    });
  }
  const lowWavelength = scaling.originalContextLength / scaling.lowFrequencyFactor;
  const highWavelength = scaling.originalContextLength / scaling.highFrequencyFactor;
  for (let index = 0; index < frequencies.length; index++) {
    const frequency = frequencies[index] as number;
    const wavelength = (2 * Math.PI) / frequency;
    if (wavelength < highWavelength) continue;
    if (wavelength > lowWavelength) {
      frequencies[index] = frequency / scaling.factor;
      continue;
    }
    const smooth =
      (scaling.originalContextLength / wavelength - scaling.lowFrequencyFactor) /
      (scaling.highFrequencyFactor - scaling.lowFrequencyFactor);
    frequencies[index] = (1 - smooth) * (frequency / scaling.factor) + smooth * frequency;
  }
}

function yarnMscale(factor: number, mscale = 1): number {
  return factor <= 1 ? 1 : 0.1 * mscale * Math.log(factor) + 1;
}

/** Dimension (of rotaryDimensions) at which a frequency makes `rotations` turns over the original context. */
function correctionDimension(rotations: number, rotaryDimensions: number, base: number, contextLength: number): number {
  return (rotaryDimensions * Math.log(contextLength / (rotations * 2 * Math.PI))) / (2 * Math.log(base));
}

function yarnFrequencies(
  frequencies: Float64Array,
  scaling: YarnRopeScaling,
  base: number,
  rotaryDimensions: number,
): number {
  requirePositive(scaling.factor, 'factor');
  requirePositive(scaling.originalContextLength, 'original_max_position_embeddings');
  const betaFast = scaling.betaFast ?? 32;
  const betaSlow = scaling.betaSlow ?? 1;
  let low = correctionDimension(betaFast, rotaryDimensions, base, scaling.originalContextLength);
  let high = correctionDimension(betaSlow, rotaryDimensions, base, scaling.originalContextLength);
  if (scaling.truncate ?? true) {
    low = Math.floor(low);
    high = Math.ceil(high);
  }
  low = Math.max(low, 0);
  high = Math.min(high, rotaryDimensions - 1);
  if (low === high) high += 0.001;
  for (let index = 0; index < frequencies.length; index++) {
    const extrapolated = frequencies[index] as number;
    const interpolated = extrapolated / scaling.factor;
    const ramp = Math.min(1, Math.max(0, (index - low) / (high - low)));
    const extrapolationWeight = 1 - ramp;
    frequencies[index] = interpolated * (1 - extrapolationWeight) + extrapolated * extrapolationWeight;
  }
  if (scaling.attentionFactor !== undefined) return scaling.attentionFactor;
  if (
    scaling.mscale !== undefined &&
    scaling.mscaleAllDimensions !== undefined &&
    scaling.mscale !== 0 &&
    scaling.mscaleAllDimensions !== 0
  ) {
    return yarnMscale(scaling.factor, scaling.mscale) / yarnMscale(scaling.factor, scaling.mscaleAllDimensions);
  }
  return yarnMscale(scaling.factor);
}

function divideByFactors(frequencies: Float64Array, factors: readonly number[]): void {
  if (factors.length !== frequencies.length) {
    throw new StrataError(
      'INVALID_CONFIG',
      `RoPE frequency factors must have rotaryDimensions / 2 = ${frequencies.length} entries; got ${factors.length}.`,
      {
        details: { expected: frequencies.length, actual: factors.length },
      },
    );
  }
  for (let index = 0; index < frequencies.length; index++)
    frequencies[index] = (frequencies[index] as number) / (factors[index] as number);
}

function longRopeFrequencies(frequencies: Float64Array, scaling: LongRopeScaling, contextLength: number): number {
  requirePositive(scaling.originalContextLength, 'original_max_position_embeddings');
  const factors = contextLength > scaling.originalContextLength ? scaling.longFactors : scaling.shortFactors;
  if (factors.length !== frequencies.length) {
    throw new StrataError(
      'INVALID_CONFIG',
      `LongRoPE factors must have rotaryDimensions / 2 = ${frequencies.length} entries; got ${factors.length}.`,
      { details: { expected: frequencies.length, actual: factors.length } },
    );
  }
  for (let index = 0; index < frequencies.length; index++)
    frequencies[index] = (frequencies[index] as number) / (factors[index] as number);
  if (scaling.attentionFactor !== undefined) return scaling.attentionFactor;
  const factor = scaling.extendedContextLength / scaling.originalContextLength;
  return factor <= 1 ? 1 : Math.sqrt(1 + Math.log(factor) / Math.log(scaling.originalContextLength));
}

/**
 * The backend's {@link RopeParameters} for a rotary embedding: the per-frequency table after scaling and the factor on
 * cos/sin. Computed once per model (and per base, for models with separate local and global bases).
 */
export function ropeParameters(
  settings: RotarySettings,
  scaling: RopeScaling = { kind: 'default' },
  options: RopeContextOptions = {},
): RopeParameters {
  const rotaryDimensions = checkSettings(settings);
  const frequencies = baseFrequencies(settings.base, rotaryDimensions);
  let attentionFactor = 1;
  switch (scaling.kind) {
    case 'default':
      break;
    case 'linear':
      requirePositive(scaling.factor, 'factor');
      for (let index = 0; index < frequencies.length; index++)
        frequencies[index] = (frequencies[index] as number) / scaling.factor;
      break;
    case 'llama3':
      llama3Frequencies(frequencies, scaling);
      break;
    case 'yarn':
      attentionFactor = yarnFrequencies(frequencies, scaling, settings.base, rotaryDimensions);
      break;
    case 'frequency-factors':
      divideByFactors(frequencies, scaling.factors);
      break;
    case 'longrope':
      attentionFactor = longRopeFrequencies(
        frequencies,
        scaling,
        options.contextLength ?? scaling.originalContextLength,
      );
      break;
  }
  return Object.freeze({
    headDimensions: settings.headDimensions,
    rotaryDimensions,
    pairing: settings.pairing,
    inverseFrequencies: Float32Array.from(frequencies),
    attentionFactor,
  });
}
