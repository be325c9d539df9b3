import { describe, expect, it } from 'vitest';
import { rankTokens } from './sampling.js';

describe('rankTokens', () => {
  it('selects the same top-k with its heap as a full sort, ties by lower id, banned tokens left out', () => {
    let state = 7;
    const next = () => {
      state = (state * 1103515245 + 12345) % 2147483648;
      return state / 2147483648;
    };
    for (let trial = 0; trial < 20; trial++) {
      // Few distinct values, so ties are common; some tokens banned.
      const scores = Float64Array.from({ length: 200 }, () =>
        next() < 0.1 ? Number.NEGATIVE_INFINITY : Math.floor(next() * 12),
      );
      const full = rankTokens(scores, 0);
      expect(full.every((token) => scores[token]! > Number.NEGATIVE_INFINITY)).toBe(true);
      for (let index = 1; index < full.length; index++) {
        const [a, b] = [full[index - 1]!, full[index]!];
        expect(scores[a]! > scores[b]! || (scores[a] === scores[b] && a < b)).toBe(true);
      }
      for (const k of [1, 5, 40, 199]) expect(rankTokens(scores, k)).toEqual(full.slice(0, k));
    }
  });
});
