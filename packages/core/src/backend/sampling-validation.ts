import { StrataError } from '../errors/strata-error.js';
import type { SamplingParameters } from './backend.js';

function invalid(message: string): never {
  throw new StrataError('INVALID_SAMPLING_OPTIONS', message);
}

/**
 * Checks {@link SamplingParameters} against a vocabulary of `vocabularySize` tokens, as every backend's `sampleToken`
 * must before sampling: temperature ≥ 0, topK a non-negative integer, topP in (0, 1], minP in [0, 1], random in [0, 1),
 * the penalty and logit-bias arrays of matching lengths, and an `allowedTokens` bitmask covering the vocabulary. Throws `INVALID_SAMPLING_OPTIONS` naming the first bad
 * field, or `TOKEN_OUT_OF_RANGE` for a penalised or biased token id outside `0 … vocabularySize − 1`.
 */
export function validateSamplingParameters(parameters: SamplingParameters, vocabularySize: number): void {
  const { temperature, topK, topP, minP, random } = parameters;
  if (!(temperature >= 0)) invalid(`temperature must be ≥ 0 (0 for greedy), got ${temperature}.`);
  if (!(Number.isInteger(topK) && topK >= 0)) invalid(`topK must be a non-negative integer (0 disables), got ${topK}.`);
  if (!(topP > 0 && topP <= 1)) invalid(`topP must be in (0, 1] (1 disables), got ${topP}.`);
  if (!(minP >= 0 && minP <= 1)) invalid(`minP must be in [0, 1] (0 disables), got ${minP}.`);
  if (!(random >= 0 && random < 1)) invalid(`random must be in [0, 1), got ${random}.`);
  if (parameters.penaltyTokens.length !== parameters.penaltyCounts.length) {
    invalid(
      `penaltyTokens (${parameters.penaltyTokens.length}) and penaltyCounts (${parameters.penaltyCounts.length}) differ in length.`,
    );
  }
  if (parameters.logitBiasTokens.length !== parameters.logitBiasValues.length) {
    invalid(
      `logitBiasTokens (${parameters.logitBiasTokens.length}) and logitBiasValues (${parameters.logitBiasValues.length}) differ in length.`,
    );
  }
  const allowed = parameters.allowedTokens;
  if (allowed !== undefined && !(allowed instanceof Uint32Array && allowed.length >= Math.ceil(vocabularySize / 32))) {
    invalid(
      `allowedTokens must be a Uint32Array bitmask of at least ${Math.ceil(vocabularySize / 32)} words for ${vocabularySize} tokens, got ${allowed instanceof Uint32Array ? `${allowed.length} words` : typeof allowed}.`,
    );
  }
  for (const token of [...parameters.penaltyTokens, ...parameters.logitBiasTokens]) {
    if (!(token >= 0 && token < vocabularySize)) {
      throw new StrataError(
        'TOKEN_OUT_OF_RANGE',
        `Sampling got token id ${token}; the vocabulary has ${vocabularySize} tokens.`,
      );
    }
  }
}
