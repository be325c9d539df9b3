import type { AttentionOptions, Backend, RopeParameters, Tensor } from '@strata/core';
import { expect, it } from 'vitest';
import { type ConformanceContext, compareWithReference, randomFor } from '../harness.js';

function inverseFrequencies(rotaryDimensions: number, base: number): Float32Array {
  return Float32Array.from({ length: rotaryDimensions / 2 }, (_, index) => base ** ((-2 * index) / rotaryDimensions));
}

/** One forward step: the rows of keys, values and queries written and attended at `firstPosition`. */
interface Step {
  readonly firstPosition: number;
  readonly rows: number;
}

interface AttentionCase {
  readonly name: string;
  readonly heads: number;
  readonly keyValueHeads: number;
  readonly headDimensions: number;
  readonly capacity: number;
  readonly steps: readonly Step[];
  readonly window?: number;
  readonly softcap?: number;
  /** Multiplies the default 1/√headDimensions (large values make softcap matter). */
  readonly scaleFactor?: number;
  /** Cache precision (default f32). */
  readonly precision?: 'f16' | 'q8_0';
}

const ATTENTION_CASES: readonly AttentionCase[] = [
  {
    name: 'multi-head prefill',
    heads: 2,
    keyValueHeads: 2,
    headDimensions: 16,
    capacity: 8,
    steps: [{ firstPosition: 0, rows: 5 }],
  },
  {
    name: 'GQA 4:1, head size 64, prefill then decode',
    heads: 4,
    keyValueHeads: 1,
    headDimensions: 64,
    capacity: 16,
    steps: [
      { firstPosition: 0, rows: 7 },
      { firstPosition: 7, rows: 1 },
      { firstPosition: 8, rows: 1 },
    ],
  },
  {
    name: 'GQA 3:1 with odd head size',
    heads: 6,
    keyValueHeads: 2,
    headDimensions: 12,
    capacity: 9,
    steps: [
      { firstPosition: 0, rows: 3 },
      { firstPosition: 3, rows: 3 },
      { firstPosition: 6, rows: 1 },
    ],
  },
  {
    name: '41 keys (past one tile)',
    heads: 2,
    keyValueHeads: 1,
    headDimensions: 16,
    capacity: 48,
    steps: [
      { firstPosition: 0, rows: 40 },
      { firstPosition: 40, rows: 1 },
    ],
  },
  {
    name: 'sliding window 4 in a ring buffer of capacity window + rows − 1',
    heads: 2,
    keyValueHeads: 1,
    headDimensions: 16,
    capacity: 6,
    window: 4,
    steps: [
      { firstPosition: 0, rows: 3 },
      { firstPosition: 3, rows: 3 },
      { firstPosition: 6, rows: 1 },
      { firstPosition: 7, rows: 3 },
      { firstPosition: 10, rows: 1 },
      { firstPosition: 11, rows: 1 },
    ],
  },
  {
    name: 'softcap 2.5 on large scores',
    heads: 2,
    keyValueHeads: 2,
    headDimensions: 16,
    capacity: 12,
    softcap: 2.5,
    scaleFactor: 6,
    steps: [
      { firstPosition: 0, rows: 6 },
      { firstPosition: 6, rows: 1 },
    ],
  },
  {
    name: 'window 5 with softcap, decode in a larger cache',
    heads: 4,
    keyValueHeads: 2,
    headDimensions: 16,
    capacity: 32,
    window: 5,
    softcap: 20,
    steps: [
      { firstPosition: 0, rows: 9 },
      { firstPosition: 9, rows: 1 },
    ],
  },
  {
    name: 'f16 cache: GQA 2:1, prefill then decode',
    heads: 4,
    keyValueHeads: 2,
    headDimensions: 16,
    capacity: 12,
    precision: 'f16',
    steps: [
      { firstPosition: 0, rows: 6 },
      { firstPosition: 6, rows: 1 },
    ],
  },
  {
    name: 'f16 cache: sliding window 4 in a ring',
    heads: 2,
    keyValueHeads: 1,
    headDimensions: 16,
    capacity: 6,
    window: 4,
    precision: 'f16',
    steps: [
      { firstPosition: 0, rows: 3 },
      { firstPosition: 3, rows: 3 },
      { firstPosition: 6, rows: 1 },
    ],
  },
  {
    name: 'q8_0 cache: GQA 2:1, head size 32, prefill then decode',
    heads: 4,
    keyValueHeads: 2,
    headDimensions: 32,
    capacity: 12,
    precision: 'q8_0',
    steps: [
      { firstPosition: 0, rows: 6 },
      { firstPosition: 6, rows: 1 },
    ],
  },
  {
    name: 'q8_0 cache: head size 96 (a row of 3 blocks) with window 4 in a ring',
    heads: 2,
    keyValueHeads: 1,
    headDimensions: 96,
    capacity: 6,
    window: 4,
    precision: 'q8_0',
    steps: [
      { firstPosition: 0, rows: 3 },
      { firstPosition: 3, rows: 3 },
      { firstPosition: 6, rows: 1 },
    ],
  },
];

/** Values at half-precision boundaries (ties, overflow, subnormals) and what an f16 cache must hold for them. */
const HALF_ROUNDING: readonly (readonly [number, number])[] = [
  [1 + 2 ** -11, 1], // tie: to the even neighbour
  [1 + 3 * 2 ** -11, 1 + 2 ** -9], // tie: to the even neighbour, upwards
  [1 + 2 ** -11 + 2 ** -20, 1 + 2 ** -10], // just past the tie
  [-(1 + 2 ** -11 - 2 ** -20), -1], // just before it, negative
  [2049, 2048],
  [2051, 2052],
  [0.1, 0.0999755859375],
  [65504, 65504],
  [65519, 65504],
  [65520, Number.POSITIVE_INFINITY],
  [-70000, Number.NEGATIVE_INFINITY],
  [2 ** -14, 2 ** -14], // smallest normal
  [2 ** -14 - 2 ** -25, 2 ** -14], // subnormal tie rounding up into the normals
  [2 ** -24, 2 ** -24], // smallest subnormal
  [3 * 2 ** -25, 2 ** -23], // subnormal tie to even
  [2 ** -25, 0], // tie to zero
  [1.5 * 2 ** -25, 2 ** -24],
  [1e-30, 0],
  [-5e-6, -5.0067901611328125e-6],
  [123.456, 123.4375],
];

/** RoPE in both pairings, full and partial, and cached attention across GQA ratios, windows, softcap and rings. */
export function registerAttentionCases(context: ConformanceContext): void {
  for (const pairing of ['adjacent', 'half-split'] as const) {
    for (const rotaryDimensions of [24, 12]) {
      it(`rope: ${pairing} pairs, ${rotaryDimensions} of 24 dimensions rotated`, async () => {
        const [rows, heads, headDimensions] = [3, 3, 24];
        const input = randomFor(`rope:${pairing}:${rotaryDimensions}`).floats(rows * heads * headDimensions);
        const plain: RopeParameters = {
          headDimensions,
          rotaryDimensions,
          pairing,
          inverseFrequencies: inverseFrequencies(rotaryDimensions, 10000),
          attentionFactor: 1,
        };
        const scaled: RopeParameters = {
          ...plain,
          inverseFrequencies: inverseFrequencies(rotaryDimensions, 500),
          attentionFactor: 1.2,
        };
        await compareWithReference(context, 'rope', `${pairing} ${rotaryDimensions}`, (backend) => {
          const uploaded = backend.upload(input, [rows, heads * headDimensions]);
          return [
            backend.rope(uploaded, 0, plain),
            backend.rope(uploaded, 29, plain),
            backend.rope(uploaded, 61, scaled),
          ];
        });
      });
    }
  }

  for (const testCase of ATTENTION_CASES) {
    it(`attention: ${testCase.name}`, async () => {
      const { heads, keyValueHeads, headDimensions, capacity, steps } = testCase;
      const width = keyValueHeads * headDimensions;
      const random = randomFor(`attention:${testCase.name}`);
      const inputs = steps.map((step) => ({
        step,
        keys: random.floats(step.rows * width),
        values: random.floats(step.rows * width),
        queries: random.floats(step.rows * heads * headDimensions),
      }));
      const options = (firstPosition: number): AttentionOptions => ({
        heads,
        keyValueHeads,
        headDimensions,
        firstPosition,
        scale: (testCase.scaleFactor ?? 1) / Math.sqrt(headDimensions),
        ...(testCase.window === undefined ? {} : { window: testCase.window }),
        ...(testCase.softcap === undefined ? {} : { softcap: testCase.softcap }),
      });
      const run = (backend: Backend): Tensor[] => {
        const cache = backend.createKeyValueCache(capacity, width, testCase.precision ?? 'f32');
        const outputs: Tensor[] = [];
        for (const { step, keys, values, queries } of inputs) {
          const shape = [step.rows, width];
          backend.writeKeyValues(cache, backend.upload(keys, shape), backend.upload(values, shape), step.firstPosition);
          const query = backend.upload(queries, [step.rows, heads * headDimensions]);
          outputs.push(backend.attention(query, cache, options(step.firstPosition)));
        }
        return [...outputs, cache.keys, cache.values];
      };
      // The attention outputs compare with tolerance, the cache contents (copies) exactly.
      const ops = [...steps.map(() => 'attention' as const), 'writeKeyValues' as const, 'writeKeyValues' as const];
      await compareWithReference(context, ops, testCase.name, run);
    });
  }

  // The fused op against the CPU's rope + rope + writeKeyValues: both pairings, partial rotary, GQA widths, a ring
  // cache that wraps, more rows than the cache holds, an f16 cache, and a q8_0 cache whose half-split pairs cross
  // blocks (heads of 64 are two blocks).
  for (const [pairing, rotaryDimensions, precision, headDimensions] of [
    ['half-split', 16, 'f32', 16],
    ['adjacent', 8, 'f16', 16],
    ['half-split', 64, 'q8_0', 64],
  ] as const) {
    const title = `${rotaryDimensions} of ${headDimensions} rotated, ${precision} ring cache`;
    it(`ropeAndWriteKeyValues: ${pairing}, ${title}`, async () => {
      const [heads, keyValueHeads, capacity] = [4, 2, 5];
      const width = keyValueHeads * headDimensions;
      const parameters: RopeParameters = {
        headDimensions,
        rotaryDimensions,
        pairing,
        inverseFrequencies: inverseFrequencies(rotaryDimensions, 10000),
        attentionFactor: 1.1,
      };
      const random = randomFor(`rope-and-write:${pairing}:${precision}`);
      const steps = [
        { firstPosition: 0, rows: 3 },
        { firstPosition: 3, rows: 7 },
        { firstPosition: 10, rows: 1 },
      ].map((step) => ({
        ...step,
        queries: random.floats(step.rows * heads * headDimensions),
        keys: random.floats(step.rows * width),
        values: random.floats(step.rows * width),
      }));
      const run = (backend: Backend): Tensor[] => {
        const cache = backend.createKeyValueCache(capacity, width, precision);
        const outputs = steps.map((step) =>
          backend.ropeAndWriteKeyValues(
            backend.upload(step.queries, [step.rows, heads * headDimensions]),
            backend.upload(step.keys, [step.rows, width]),
            backend.upload(step.values, [step.rows, width]),
            cache,
            step.firstPosition,
            parameters,
          ),
        );
        return [...outputs, cache.keys, cache.values];
      };
      const ops = [...steps.map(() => 'rope' as const), 'rope' as const, 'writeKeyValues' as const];
      await compareWithReference(context, ops, `${pairing} ${precision}`, run);
    });
  }

  it('writeKeyValues: an f16 cache rounds to nearest even at half-precision boundaries', async () => {
    const width = HALF_ROUNDING.length;
    const input = Float32Array.from(HALF_ROUNDING, ([value]) => value);
    const negated = input.map((value) => -value);
    const run = (backend: Backend): Tensor[] => {
      const cache = backend.createKeyValueCache(2, width, 'f16');
      backend.writeKeyValues(cache, backend.upload(input, [1, width]), backend.upload(negated, [1, width]), 1);
      return [cache.keys, cache.values];
    };
    await compareWithReference(context, ['writeKeyValues', 'writeKeyValues'], 'f16 rounding', run);
    const backend = context.backend();
    const keys = await backend.read(run(backend)[0]!);
    const expected = HALF_ROUNDING.map(([, rounded]) => rounded);
    expect(Array.from(keys.subarray(width, 2 * width))).toEqual(expected);
  });
}
