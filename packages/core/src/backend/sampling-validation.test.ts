import { describe, expect, it } from 'vitest';
import { StrataError } from '../errors/strata-error.js';
import type { SamplingParameters } from './backend.js';
import { validateSamplingParameters } from './sampling-validation.js';

const NEUTRAL: SamplingParameters = {
  temperature: 1,
  topK: 0,
  topP: 1,
  minP: 0,
  random: 0.5,
  penaltyTokens: new Int32Array(0),
  penaltyCounts: new Int32Array(0),
  repetitionPenalty: 1,
  presencePenalty: 0,
  frequencyPenalty: 0,
  logitBiasTokens: new Int32Array(0),
  logitBiasValues: new Float32Array(0),
};

function codeOf(parameters: Partial<SamplingParameters>): string | undefined {
  try {
    validateSamplingParameters({ ...NEUTRAL, ...parameters }, 4);
    return undefined;
  } catch (error) {
    return StrataError.isInstance(error) ? error.code : 'not a StrataError';
  }
}

describe('validateSamplingParameters', () => {
  it('accepts neutral, greedy and edge values', () => {
    expect(codeOf({})).toBeUndefined();
    expect(codeOf({ temperature: 0, random: 0 })).toBeUndefined();
    expect(codeOf({ topP: 1, minP: 1, topK: 4 })).toBeUndefined();
    expect(codeOf({ penaltyTokens: Int32Array.of(0, 3), penaltyCounts: Int32Array.of(1, 2) })).toBeUndefined();
    expect(codeOf({ allowedTokens: Uint32Array.of(0b1010) })).toBeUndefined();
  });

  it('rejects each out-of-range field with INVALID_SAMPLING_OPTIONS', () => {
    for (const bad of [
      { temperature: -0.1 },
      { temperature: Number.NaN },
      { topK: 1.5 },
      { topK: -1 },
      { topP: 0 },
      { topP: 1.01 },
      { minP: -0.01 },
      { minP: 2 },
      { random: 1 },
      { random: -0.5 },
      { penaltyTokens: Int32Array.of(1), penaltyCounts: new Int32Array(0) },
      { logitBiasTokens: Int32Array.of(1), logitBiasValues: new Float32Array(0) },
      { allowedTokens: new Uint32Array(0) },
      { allowedTokens: Int32Array.of(1) as unknown as Uint32Array },
    ]) {
      expect(codeOf(bad), JSON.stringify(bad)).toBe('INVALID_SAMPLING_OPTIONS');
    }
  });

  it('rejects token ids outside the vocabulary with TOKEN_OUT_OF_RANGE', () => {
    expect(codeOf({ penaltyTokens: Int32Array.of(4), penaltyCounts: Int32Array.of(1) })).toBe('TOKEN_OUT_OF_RANGE');
    expect(codeOf({ logitBiasTokens: Int32Array.of(-1), logitBiasValues: Float32Array.of(1) })).toBe(
      'TOKEN_OUT_OF_RANGE',
    );
  });
});
