import type { Backend, SamplingParameters } from '@strata/core';
import { expect, it } from 'vitest';
import { type ConformanceContext, compareWithReference, randomFor, trackedBackend } from '../harness.js';
import { samplingParameters } from '../sampling.js';

/** Logits whose values are well separated (no near-ties), so every backend must choose the same indices. */
function separatedLogits(rows: number, columns: number, name: string, spacing: number): Float32Array {
  const random = randomFor(name);
  const output = new Float32Array(rows * columns);
  for (let row = 0; row < rows; row++) {
    const order = Array.from({ length: columns }, (_, index) => index);
    for (let index = columns - 1; index > 0; index--) {
      const other = random.integer(index + 1);
      [order[index], order[other]] = [order[other]!, order[index]!];
    }
    for (let column = 0; column < columns; column++) {
      output[row * columns + column] = (order[column]! - columns / 2) * spacing + random.uniform(-0.1, 0.1) * spacing;
    }
  }
  return output;
}

const GREEDY: SamplingParameters = samplingParameters({ temperature: 0, random: 0.5 });

/** Expert routing and combination, argmax, and sampling (greedy, top-k 1, filters, penalties, bans, determinism). */
export function registerRoutingCases(context: ConformanceContext): void {
  for (const normalize of [false, true]) {
    it(`routeExperts top-1 and top-2 of 8, ${normalize ? 'renormalised' : 'plain softmax'} weights; combineExperts`, async () => {
      const logits = separatedLogits(5, 8, `route:${normalize}`, 0.6);
      await compareWithReference(context, 'routeExperts', `normalize ${normalize}`, (backend) => {
        const tensor = backend.upload(logits, [5, 8]);
        const top2 = backend.routeExperts(tensor, { topK: 2, normalize });
        const top1 = backend.routeExperts(tensor, { topK: 1, normalize });
        return [top2.experts, top2.weights, top1.experts, top1.weights];
      });
    });
  }

  it('combineExperts weights slot rows', async () => {
    const random = randomFor('combine');
    const slots = random.floats(5 * 3 * 37);
    const weights = random.floats(5 * 3, 0, 1);
    await compareWithReference(context, 'combineExperts', 'topK 3', (backend) =>
      backend.combineExperts(backend.upload(slots, [15, 37]), backend.upload(weights, [5, 3])),
    );
  });

  it('argmax takes the first index on ties', async () => {
    const values = separatedLogits(4, 37, 'argmax', 0.5);
    let best = 0;
    for (let column = 1; column < 37; column++) if (values[37 + column]! > values[37 + best]!) best = column;
    values[37 + 36] = values[37 + best]!;
    values[37 + 2] = values[37 + best]!;
    const expected = await compareWithReference(context, 'argmax', 'rows', (backend) =>
      backend.argmax(backend.upload(values, [4, 37])),
    );
    expect(expected[0]![1]).toBe(Math.min(2, best));
  });

  const vocabulary = 50;
  const logits = separatedLogits(2, vocabulary, 'sampling', 0.15);
  const sample = (backend: Backend, parameters: Partial<SamplingParameters>) =>
    backend.sampleToken(backend.upload(logits, [2, vocabulary]), { ...GREEDY, ...parameters });

  it('sampleToken: greedy and top-k 1 are the argmax of the last row', async () => {
    const [greedy, topOne, argmax] = await compareWithReference(context, 'sampleToken', 'greedy', (backend) => [
      sample(backend, { random: 0.9 }),
      sample(backend, { temperature: 0.8, topK: 1, random: 0.9 }),
      backend.argmax(backend.sliceRows(backend.upload(logits, [2, vocabulary]), 1, 1)),
    ]);
    expect(greedy![0]).toBe(argmax![0]);
    expect(topOne![0]).toBe(argmax![0]);
  });

  it('sampleToken: seeded draws with temperature, top-k, top-p and min-p match and repeat', async () => {
    const draws = [0.01, 0.2, 0.45, 0.7, 0.93, 0.999];
    const settings: Partial<SamplingParameters>[] = [
      { temperature: 1 },
      { temperature: 0.7, topK: 8 },
      { temperature: 1.3, topP: 0.8 },
      { temperature: 1, minP: 0.2 },
      { temperature: 0.9, topK: 20, topP: 0.9, minP: 0.05 },
    ];
    const backend = trackedBackend(context);
    for (const [index, setting] of settings.entries()) {
      const first = await compareWithReference(context, 'sampleToken', `setting ${index}`, (backend) =>
        draws.map((random) => sample(backend, { ...setting, random })),
      );
      const again = await Promise.all(draws.map((random) => backend.read(sample(backend, { ...setting, random }))));
      expect(again.map((ids) => ids[0])).toEqual(first.map((ids) => ids[0]));
    }
  });

  it('sampleToken: penalties, and bans through logit bias', async () => {
    const greedyToken = (await context.reference.read(sample(context.reference, {})))[0]!;
    const banned = Int32Array.of(greedyToken, 3, 17, 41);
    const bans: Partial<SamplingParameters> = {
      logitBiasTokens: Int32Array.of(...banned, 5),
      logitBiasValues: Float32Array.of(...Array.from(banned, () => Number.NEGATIVE_INFINITY), 1.5),
    };
    const penalties: Partial<SamplingParameters> = {
      penaltyTokens: Int32Array.of(greedyToken, 8, 9, 30),
      penaltyCounts: Int32Array.of(3, 1, 2, 1),
      repetitionPenalty: 1.3,
      presencePenalty: 0.4,
      frequencyPenalty: 0.25,
    };
    const results = await compareWithReference(context, 'sampleToken', 'penalties and bans', (backend) => [
      sample(backend, bans),
      sample(backend, { ...bans, temperature: 1.5, random: 0.3 }),
      sample(backend, { ...bans, temperature: 2, random: 0.99 }),
      sample(backend, penalties),
      sample(backend, { ...penalties, temperature: 1, random: 0.6 }),
      sample(backend, { ...penalties, ...bans, temperature: 1, topK: 5, random: 0.8 }),
    ]);
    for (const index of [0, 1, 2, 5]) expect(Array.from(banned)).not.toContain(results[index]![0]);
  });

  it('sampleToken: an allowed-token bitmask restricts every setting to the allowed set', async () => {
    // Structured output's mask: only every third token from 2 on, plus 49 (the last word's high bits are padding).
    const allowedTokens = new Uint32Array(Math.ceil(vocabulary / 32));
    const allowed: number[] = [];
    for (let token = 2; token < vocabulary; token += 3) allowed.push(token);
    allowed.push(49);
    for (const token of allowed) allowedTokens[token >>> 5]! |= 1 << (token & 31);
    const results = await compareWithReference(context, 'sampleToken', 'allowed-token mask', (backend) => [
      sample(backend, { allowedTokens }),
      sample(backend, { allowedTokens, temperature: 1, random: 0.4 }),
      sample(backend, { allowedTokens, temperature: 1.5, topK: 4, random: 0.9 }),
      sample(backend, { allowedTokens, temperature: 0.8, topP: 0.7, random: 0.2 }),
      sample(backend, { allowedTokens, temperature: 1, minP: 0.2, random: 0.6 }),
      sample(backend, {
        allowedTokens,
        penaltyTokens: Int32Array.of(2, 5),
        penaltyCounts: Int32Array.of(2, 1),
        repetitionPenalty: 1.5,
        temperature: 1,
        random: 0.75,
      }),
    ]);
    for (const result of results) expect(allowed).toContain(result![0]);
    const single = new Uint32Array(Math.ceil(vocabulary / 32));
    single[1] = 1 << (40 - 32);
    const [only] = await compareWithReference(context, 'sampleToken', 'one allowed token', (backend) => [
      sample(backend, { allowedTokens: single, temperature: 2, random: 0.99 }),
    ]);
    expect(only![0]).toBe(40);
  });
}
