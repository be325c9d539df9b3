import { createCpuBackend } from '@strata/kernels-cpu';
import { describe, expect, it } from 'vitest';
import { SeededRandom } from './random.js';
import { normalizeSamplingOptions, type SamplingOptions } from './sampling-options.js';
import { chooseToken, countPenaltyWindow, TokenSampler } from './token-sampler.js';

const backend = createCpuBackend();

/** Logits whose softmax is exactly `probabilities`. */
function logitsOf(probabilities: number[]): Float32Array {
  return Float32Array.from(probabilities, (p) => Math.log(p));
}

/** Tokens drawn in `draws` steps from fixed logits, the sampler seeing `history`. */
async function draw(
  logits: Float32Array,
  options: SamplingOptions,
  draws = 1,
  history: number[] = [],
): Promise<number[]> {
  const sampler = new TokenSampler(normalizeSamplingOptions({ seed: 1, ...options }, logits.length));
  const tensor = backend.upload(logits, [1, logits.length]);
  const tokens: number[] = [];
  for (let step = 0; step < draws; step++) {
    tokens.push((await backend.read(chooseToken(backend, tensor, sampler.next(history))))[0]!);
  }
  return tokens;
}

const FOUR = logitsOf([0.5, 0.3, 0.15, 0.05]);

describe('sampling on known logits', () => {
  it('greedy and top-k 1 pick the argmax whatever the temperature and seed', async () => {
    expect(await draw(FOUR, {})).toEqual([0]);
    const shuffled = logitsOf([0.1, 0.2, 0.6, 0.1]);
    for (const seed of [1, 2, 3]) {
      expect(await draw(shuffled, { temperature: 2, topK: 1, seed }, 20)).toEqual(new Array(20).fill(2));
    }
  });

  it('temperature sampling covers every token with roughly the right frequencies', async () => {
    const tokens = await draw(FOUR, { temperature: 1 }, 2000);
    const counts = [0, 0, 0, 0];
    for (const token of tokens) counts[token]!++;
    expect(counts[0]! / 2000).toBeCloseTo(0.5, 1);
    expect(counts[3]!).toBeGreaterThan(40);
  });

  it('top-p keeps the smallest set reaching p; min-p drops tokens below minP × the best', async () => {
    expect(new Set(await draw(FOUR, { temperature: 1, topP: 0.7 }, 300))).toEqual(new Set([0, 1]));
    expect(new Set(await draw(FOUR, { temperature: 1, topP: 0.5 }, 100))).toEqual(new Set([0]));
    expect(new Set(await draw(FOUR, { temperature: 1, minP: 0.5 }, 300))).toEqual(new Set([0, 1]));
    expect(new Set(await draw(FOUR, { temperature: 1, minP: 0.25 }, 600))).toEqual(new Set([0, 1, 2]));
    expect(new Set(await draw(FOUR, { temperature: 1, topK: 2 }, 300))).toEqual(new Set([0, 1]));
  });

  it('repetition, presence and frequency penalties act on the tokens of the last-N window', async () => {
    const logits = Float32Array.of(2, 1.5, 0.1);
    expect(await draw(logits, { repetitionPenalty: 1.5 }, 1, [0])).toEqual([1]); // 2/1.5 < 1.5
    expect(await draw(logits, { repetitionPenalty: 1.2 }, 1, [0])).toEqual([0]); // 2/1.2 > 1.5
    expect(await draw(logits, { presencePenalty: 0.6 }, 1, [0, 0, 0])).toEqual([1]);
    expect(await draw(logits, { frequencyPenalty: 0.2 }, 1, [0, 0])).toEqual([0]); // 2 − 0.4 > 1.5
    expect(await draw(logits, { frequencyPenalty: 0.2 }, 1, [0, 0, 0])).toEqual([1]); // 2 − 0.6 < 1.5
    // The window: token 0 only occurs before the last 2 tokens, so it is not penalised.
    expect(await draw(logits, { presencePenalty: 5, penaltyWindow: 2 }, 1, [0, 2, 2])).toEqual([0]);
    expect(await draw(logits, { presencePenalty: 5, penaltyWindow: 3 }, 1, [0, 2, 2])).toEqual([1]);
    expect(await draw(logits, { presencePenalty: 5, penaltyWindow: -1 }, 1, [0, 2, 2, 2, 2])).toEqual([1]);
  });

  it('logit bias bans and boosts tokens', async () => {
    expect(await draw(FOUR, { logitBias: { 0: Number.NEGATIVE_INFINITY } })).toEqual([1]);
    expect(await draw(FOUR, { logitBias: new Map([[3, 10]]) })).toEqual([3]);
    const banned = await draw(FOUR, { temperature: 1, logitBias: { 0: Number.NEGATIVE_INFINITY } }, 200);
    expect(banned).not.toContain(0);
  });

  it('the same seed gives the same tokens; another seed other tokens', async () => {
    const uniform = new Float32Array(64);
    const a = await draw(uniform, { temperature: 1, seed: 5 }, 30);
    const b = await draw(uniform, { temperature: 1, seed: 5 }, 30);
    const c = await draw(uniform, { temperature: 1, seed: 6 }, 30);
    expect(a).toEqual(b);
    expect(c).not.toEqual(a);
  });
});

describe('sampling helpers', () => {
  it('countPenaltyWindow counts distinct tokens of the last N', () => {
    const { penaltyTokens, penaltyCounts } = countPenaltyWindow([1, 2, 2, 3, 2], 4);
    expect(Array.from(penaltyTokens)).toEqual([2, 3]);
    expect(Array.from(penaltyCounts)).toEqual([3, 1]);
    expect(countPenaltyWindow([1, 2], 0).penaltyTokens).toHaveLength(0);
  });

  it('SeededRandom is deterministic, in [0, 1) and roughly uniform', () => {
    const a = new SeededRandom(123);
    const b = new SeededRandom(123);
    let sum = 0;
    for (let index = 0; index < 10_000; index++) {
      const value = a.next();
      expect(value).toBe(b.next());
      expect(value).toBeGreaterThanOrEqual(0);
      expect(value).toBeLessThan(1);
      sum += value;
    }
    expect(sum / 10_000).toBeCloseTo(0.5, 1);
    expect(new SeededRandom(124).next()).not.toBe(new SeededRandom(123).next());
  });

  it('plain greedy options need no device sampling; penalties or bias do', () => {
    expect(normalizeSamplingOptions({}).isPlainGreedy).toBe(true);
    expect(normalizeSamplingOptions({ repetitionPenalty: 1.1 }).isPlainGreedy).toBe(false);
    expect(normalizeSamplingOptions({ temperature: 0.7 }).isPlainGreedy).toBe(false);
  });
});
