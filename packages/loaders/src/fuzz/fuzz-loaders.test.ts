import { StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { fuzzLoaders } from './fuzz-loaders.js';
import { mutate, Random } from './mutate.js';
import { builtInSeeds } from './seeds.js';

describe('loaders fuzz harness', () => {
  it('is deterministic for a seed and mutates', () => {
    const [seed] = builtInSeeds();
    const first = mutate(seed!.bytes, new Random(7), seed!.headerBytes, []);
    const again = mutate(seed!.bytes, new Random(7), seed!.headerBytes, []);
    expect(again).toEqual(first);
    let changed = 0;
    for (let value = 0; value < 20; value++) {
      const mutated = mutate(seed!.bytes, new Random(value), seed!.headerBytes, []);
      if (!Buffer.from(mutated).equals(Buffer.from(seed!.bytes))) changed++;
    }
    expect(changed).toBeGreaterThan(15);
  });

  it('finds only StrataErrors in 400 mutated writer-made files', async () => {
    const report = await fuzzLoaders(builtInSeeds(), { seed: 12345, iterations: 400 });
    expect(report.failures.map((failure) => failure.reason)).toEqual([]);
    expect(report.iterations).toBe(400);
    expect(report.accepted).toBeGreaterThan(0);
    expect(Object.keys(report.rejectedByCode).length).toBeGreaterThan(3);
  });

  it('reaches the safetensors checks through JSON-aware mutations', async () => {
    const safetensors = builtInSeeds().filter((seed) => seed.format === 'safetensors');
    const report = await fuzzLoaders(safetensors, { seed: 5, iterations: 300 });
    expect(report.failures.map((failure) => failure.reason)).toEqual([]);
    expect(report.rejectedByCode.INVALID_TENSOR_INFO).toBeGreaterThan(0);
    expect(report.rejectedByCode.UNKNOWN_TENSOR_TYPE).toBeGreaterThan(0);
    expect(report.accepted).toBeGreaterThan(0);
  });

  it('reports an input that raises something other than a StrataError', async () => {
    const original = StrataError.isInstance;
    // A harness that cannot fail proves nothing: make every StrataError look foreign and expect failures.
    StrataError.isInstance = ((_value: unknown): _value is StrataError => false) as typeof StrataError.isInstance;
    try {
      const report = await fuzzLoaders(builtInSeeds(), { seed: 1, iterations: 20 });
      expect(report.failures.length).toBeGreaterThan(0);
    } finally {
      StrataError.isInstance = original;
    }
  });
});
