import type { SamplingParameters } from '@strata/core';

/**
 * Sampling parameters that change nothing (temperature 1, no top-k/top-p/min-p, no penalties, no logit bias, random
 * 0), with `overrides` applied: the base every sampling test builds on. A fresh object with fresh empty arrays on
 * each call.
 */
export function samplingParameters(overrides: Partial<SamplingParameters> = {}): SamplingParameters {
  return {
    temperature: 1,
    topK: 0,
    topP: 1,
    minP: 0,
    random: 0,
    penaltyTokens: new Int32Array(0),
    penaltyCounts: new Int32Array(0),
    repetitionPenalty: 1,
    presencePenalty: 0,
    frequencyPenalty: 0,
    logitBiasTokens: new Int32Array(0),
    logitBiasValues: new Float32Array(0),
    ...overrides,
  };
}
