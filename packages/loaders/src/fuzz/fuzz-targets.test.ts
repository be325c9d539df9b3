import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { ggufTarget, safetensorsTarget } from './binary-targets.js';
import { type FuzzTarget, fuzzTarget } from './fuzz-target.js';
import { mutate, Random } from './mutate.js';
import { builtInSeeds } from './seeds.js';
import { builtInTemplateSeeds, templateTarget } from './template-target.js';
import { builtInTokenizerSeed, tokenizerTarget } from './tokenizer-target.js';

const root = fileURLToPath(new URL('../../../../', import.meta.url));

describe('the four fuzz targets', () => {
  it.each([
    ['gguf', () => ggufTarget(builtInSeeds()), 300],
    ['safetensors', () => safetensorsTarget(builtInSeeds()), 300],
    ['tokenizer', () => tokenizerTarget([builtInTokenizerSeed()]), 300],
    ['template', () => templateTarget(builtInTemplateSeeds()), 300],
  ] as const)('%s: only StrataErrors, in time and in bounded heap', async (_name, make, iterations) => {
    const report = await fuzzTarget(make() as FuzzTarget<unknown>, { seed: 99, iterations, inputMilliseconds: 2000 });
    expect(report.failures.map((failure) => failure.reason)).toEqual([]);
    expect(report.iterations).toBe(iterations);
    expect(report.accepted).toBeGreaterThan(0);
    expect(Object.keys(report.rejectedByCode).length).toBeGreaterThan(0);
  });
});

describe('the binary mutations', () => {
  it('are deterministic for a seed and change the input', () => {
    const [seed] = builtInSeeds();
    const first = mutate(seed!.bytes, new Random(7), seed!.headerBytes, []);
    expect(mutate(seed!.bytes, new Random(7), seed!.headerBytes, [])).toEqual(first);
    let changed = 0;
    for (let value = 0; value < 20; value++) {
      const mutated = mutate(seed!.bytes, new Random(value), seed!.headerBytes, []);
      if (!Buffer.from(mutated).equals(Buffer.from(seed!.bytes))) changed++;
    }
    expect(changed).toBeGreaterThan(15);
  });

  it('reach the safetensors checks through JSON-aware edits', async () => {
    const report = await fuzzTarget(safetensorsTarget(builtInSeeds()), { seed: 5, iterations: 300 });
    expect(report.failures.map((failure) => failure.reason)).toEqual([]);
    expect(report.rejectedByCode.INVALID_TENSOR_INFO).toBeGreaterThan(0);
    expect(report.rejectedByCode.UNKNOWN_TENSOR_TYPE).toBeGreaterThan(0);
  });
});

describe('the fuzz harness fails a run', () => {
  const target = (exercise: () => readonly string[]): FuzzTarget<number> => ({
    name: 'probe',
    mutate: (random) => random.below(10),
    exercise,
    serialize: (input) => Uint8Array.of(input),
  });

  it('on an error that is not a StrataError, and counts StrataErrors by code', async () => {
    let calls = 0;
    const report = await fuzzTarget(
      target(() => {
        calls++;
        if (calls % 2 === 0) throw new StrataError('INVALID_FILE', 'rejected');
        throw new TypeError('escaped');
      }),
      { seed: 1, iterations: 10 },
    );
    expect(report.failures).toHaveLength(5);
    expect(report.failures[0]?.reason).toContain('TypeError: escaped');
    expect(report.rejectedByCode).toEqual({ INVALID_FILE: 5 });
  });

  it('when a reader raises errors that are not StrataErrors', async () => {
    const original = StrataError.isInstance;
    // A harness that cannot fail proves nothing: make every StrataError look foreign and expect failures.
    StrataError.isInstance = ((_value: unknown): _value is StrataError => false) as typeof StrataError.isInstance;
    try {
      const report = await fuzzTarget(ggufTarget(builtInSeeds()), { seed: 1, iterations: 20 });
      expect(report.failures.length).toBeGreaterThan(0);
    } finally {
      StrataError.isInstance = original;
    }
  });

  it('on an input over its time', async () => {
    const report = await fuzzTarget(
      target(() => {
        const until = performance.now() + 30;
        while (performance.now() < until) {
          // busy: a reader that takes too long
        }
        return [];
      }),
      { seed: 1, iterations: 2, inputMilliseconds: 10 },
    );
    expect(report.failures.map((failure) => failure.reason)).toEqual([
      expect.stringContaining('limit 10'),
      expect.stringContaining('limit 10'),
    ]);
  });

  it('on heap past its bound', async () => {
    const report = await fuzzTarget(
      target(() => []),
      { seed: 1, iterations: 1, heapBytes: 1 },
    );
    expect(report.failures[0]?.reason).toContain('over the bound of 1');
  });
});

describe('pnpm fuzz (what CI runs)', () => {
  const fuzz = (...args: string[]) =>
    spawnSync(
      `${root}node_modules/.bin/tsx`,
      ['--tsconfig', `${root}tsconfig.json`, `${root}packages/loaders/src/fuzz/run-fuzz.ts`, ...args],
      { encoding: 'utf8', timeout: 120_000 },
    );

  it('runs every reader briefly, each in a capped child process, and passes', () => {
    const result = fuzz('--seconds', '16', '--seed', '3', '--out', `${root}node_modules/.cache/fuzz-failures`);
    expect(result.stderr).not.toContain('FAILURE');
    expect(result.status).toBe(0);
    for (const name of ['gguf', 'safetensors', 'tokenizer', 'template']) {
      expect(result.stdout).toMatch(new RegExp(`${name}: [1-9]\\d* inputs`));
    }
  }, 120_000);

  it('fails when a reader process dies of its memory cap', () => {
    const result = fuzz(
      '--seconds',
      '2',
      '--targets',
      'gguf',
      '--heap-mb',
      '8',
      '--out',
      `${root}node_modules/.cache/fuzz-failures`,
    );
    expect(result.status).toBe(1);
    expect(result.stderr).toContain('died');
  }, 120_000);
});
