import type { SamplingParameters, Tensor } from '@strata/core';
import { StrataError, validateSamplingParameters } from '@strata/core';
import { floatData, fromData, matrixShape } from '../cpu-tensor.js';
import { argmaxRow } from './routing.js';

function invalid(message: string): never {
  throw new StrataError('INVALID_SAMPLING_OPTIONS', message);
}

/**
 * The logits of the last row after penalties and logit bias, in f64, with tokens outside `allowedTokens` banned. Repetition penalty as llama.cpp: a positive
 * logit is divided by it, a negative (or zero) one multiplied; then count · frequency + presence is subtracted.
 */
export function penalisedLogits(
  data: Float32Array,
  offset: number,
  vocabulary: number,
  parameters: SamplingParameters,
): Float64Array {
  const logits = Float64Array.from(data.subarray(offset, offset + vocabulary));
  const { penaltyTokens, penaltyCounts, repetitionPenalty, presencePenalty, frequencyPenalty } = parameters;
  for (let index = 0; index < penaltyTokens.length; index++) {
    const token = penaltyTokens[index]!;
    const count = penaltyCounts[index]!;
    let logit = logits[token]!;
    if (repetitionPenalty !== 1) logit = logit > 0 ? logit / repetitionPenalty : logit * repetitionPenalty;
    logit -= count * frequencyPenalty + (count > 0 ? presencePenalty : 0);
    logits[token] = logit;
  }
  for (let index = 0; index < parameters.logitBiasTokens.length; index++) {
    const token = parameters.logitBiasTokens[index]!;
    logits[token] = logits[token]! + parameters.logitBiasValues[index]!;
  }
  const allowed = parameters.allowedTokens;
  if (allowed !== undefined) {
    for (let token = 0; token < vocabulary; token++) {
      if (((allowed[token >>> 5]! >>> (token & 31)) & 1) === 0) logits[token] = Number.NEGATIVE_INFINITY;
    }
  }
  return logits;
}

/** True when token `first` ranks before token `second`: higher score, or equal score and lower id. */
function ranksBefore(scores: Float64Array, first: number, second: number): boolean {
  return scores[first]! > scores[second]! || (scores[first] === scores[second] && first < second);
}

/**
 * Token ids in rank order (score descending, ties: lower id first), without banned tokens; only the first `topK` when
 * topK > 0 (selected with a heap of k entries, so a large vocabulary is not sorted whole).
 */
export function rankTokens(scores: Float64Array, topK: number): number[] {
  const vocabulary = scores.length;
  if (topK <= 0 || topK >= vocabulary) {
    const order: number[] = [];
    for (let token = 0; token < vocabulary; token++) if (scores[token]! > Number.NEGATIVE_INFINITY) order.push(token);
    order.sort((first, second) => (ranksBefore(scores, first, second) ? -1 : 1));
    return order.slice(0, topK > 0 ? topK : order.length);
  }
  // Min-heap (by rank) of the best topK tokens seen so far: the root is the worst of them.
  const heap: number[] = [];
  const worse = (first: number, second: number) => ranksBefore(scores, second, first);
  for (let token = 0; token < vocabulary; token++) {
    if (!(scores[token]! > Number.NEGATIVE_INFINITY)) continue;
    if (heap.length < topK) {
      heap.push(token);
      for (let child = heap.length - 1; child > 0; ) {
        const parent = (child - 1) >> 1;
        if (!worse(heap[child]!, heap[parent]!)) break;
        [heap[child], heap[parent]] = [heap[parent]!, heap[child]!];
        child = parent;
      }
    } else if (ranksBefore(scores, token, heap[0]!)) {
      heap[0] = token;
      for (let parent = 0; ; ) {
        const left = 2 * parent + 1;
        const right = left + 1;
        let smallest = parent;
        if (left < topK && worse(heap[left]!, heap[smallest]!)) smallest = left;
        if (right < topK && worse(heap[right]!, heap[smallest]!)) smallest = right;
        if (smallest === parent) break;
        [heap[smallest], heap[parent]] = [heap[parent]!, heap[smallest]!];
        parent = smallest;
      }
    }
  }
  return heap.sort((first, second) => (ranksBefore(scores, first, second) ? -1 : 1));
}

/**
 * Samples from the last row of `logits`. Order: penalties → logit bias → temperature → top-k → top-p → min-p.
 * Candidates are ranked by logit, descending (ties: lower id first); top-k keeps the first k; top-p keeps the shortest
 * prefix whose probability (softmax over the top-k set) reaches p; min-p drops tokens below minP × the best one's
 * probability. The token drawn is the first candidate, in rank order, whose cumulative probability over the kept set
 * exceeds `random` × the kept mass. Temperature 0 is argmax of the penalised logits (first on ties).
 */
export function sampleToken(logits: Tensor, parameters: SamplingParameters): Tensor {
  const data = floatData(logits, 'sampleToken');
  const { rows, columns: vocabulary } = matrixShape(logits.shape);
  if (rows === 0 || vocabulary === 0) invalid('sampleToken got empty logits.');
  validateSamplingParameters(parameters, vocabulary);
  const scores = penalisedLogits(data, (rows - 1) * vocabulary, vocabulary, parameters);
  const best = argmaxRow(scores, 0, vocabulary);
  if (!(scores[best]! > Number.NEGATIVE_INFINITY))
    invalid('Every token is banned (all logits are −Infinity, or the allowed-token mask is empty).');
  if (parameters.temperature === 0 || parameters.topK === 1) return fromData(Int32Array.of(best), [1]);

  const order = rankTokens(scores, parameters.topK);
  let kept = order.length;

  const maximum = scores[order[0]!]! / parameters.temperature;
  const weights = new Float64Array(kept);
  let total = 0;
  for (let rank = 0; rank < kept; rank++) {
    weights[rank] = Math.exp(scores[order[rank]!]! / parameters.temperature - maximum);
    total += weights[rank]!;
  }
  if (parameters.topP < 1) {
    let cumulative = 0;
    for (let rank = 0; rank < kept; rank++) {
      cumulative += weights[rank]! / total;
      if (cumulative >= parameters.topP) {
        kept = rank + 1;
        break;
      }
    }
  }
  if (parameters.minP > 0) {
    // weights[0] is the best token's (unnormalised) probability: exp(0) = 1.
    let rank = 1;
    while (rank < kept && weights[rank]! >= parameters.minP * weights[0]!) rank++;
    kept = rank;
  }
  let keptMass = 0;
  for (let rank = 0; rank < kept; rank++) keptMass += weights[rank]!;
  const threshold = parameters.random * keptMass;
  let cumulative = 0;
  for (let rank = 0; rank < kept; rank++) {
    cumulative += weights[rank]!;
    if (cumulative > threshold) return fromData(Int32Array.of(order[rank]!), [1]);
  }
  return fromData(Int32Array.of(order[kept - 1]!), [1]);
}
