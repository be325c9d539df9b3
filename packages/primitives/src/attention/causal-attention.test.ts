import { StrataError } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { describe, expect, it } from 'vitest';
import { Linear } from '../layers/linear.js';
import { RmsNorm } from '../layers/norm.js';
import { ropeParameters } from '../rope/rope.js';
import {
  causalAttention,
  matmul,
  randomMatrix,
  rmsNorm,
  ropeHalfSplit,
  seeded,
  uploadF32,
} from '../testing/reference.js';
import { CausalAttention } from './causal-attention.js';

const geometry = { heads: 4, keyValueHeads: 2, headDimensions: 4 };
const width = 8;
const rows = 6;

async function setUp(seed: number) {
  const backend = createCpuBackend();
  const random = seeded(seed);
  const weights = {
    query: randomMatrix(random, 16, width),
    key: randomMatrix(random, 8, width),
    value: randomMatrix(random, 8, width),
    output: randomMatrix(random, width, 16),
    keyBias: randomMatrix(random, 1, 8)[0] as number[],
    queryNorm: randomMatrix(random, 1, 4)[0]?.map((value) => 1 + value) as number[],
    keyNorm: randomMatrix(random, 1, 4)[0]?.map((value) => 1 + value) as number[],
  };
  const hidden = randomMatrix(random, rows, width);
  const projections = {
    query: new Linear(await uploadF32(backend, weights.query)),
    key: new Linear(await uploadF32(backend, weights.key), await uploadF32(backend, weights.keyBias)),
    value: new Linear(await uploadF32(backend, weights.value)),
    output: new Linear(await uploadF32(backend, weights.output)),
  };
  const cache = { keys: backend.zeros([rows, 8]), values: backend.zeros([rows, 8]) };
  const input = backend.upload(Float32Array.from(hidden.flat()), [rows, width]);
  return { backend, weights, hidden, projections, cache, input };
}

function maxDifference(actual: ArrayLike<number>, expected: number[][]): number {
  const flat = expected.flat();
  return Math.max(...flat.map((value, index) => Math.abs(value - (actual[index] as number))));
}

describe('CausalAttention', () => {
  it('is an immutable value: each with… returns a new attention and leaves the original unchanged', async () => {
    const { projections } = await setUp(1);
    const plain = CausalAttention.create(projections, geometry);
    const windowed = plain.withSlidingWindow(3).withScale(0.5);
    expect(plain.window).toBeUndefined();
    expect(plain.scale).toBe(0.5);
    expect(windowed.window).toBe(3);
    expect(windowed.scale).toBe(0.5);
    expect(plain.cacheSpec).toEqual({ keyValueWidth: 8, headDimensions: 4 });
    expect(windowed.cacheSpec).toEqual({ keyValueWidth: 8, headDimensions: 4, window: 3 });
  });

  it('matches a direct computation: biases, QK norm, RoPE, grouped-query heads, sliding window', async () => {
    const { backend, weights, hidden, projections, cache, input } = await setUp(2);
    const rope = ropeParameters({ headDimensions: 4, base: 10000, pairing: 'half-split' });
    const attention = CausalAttention.create(projections, geometry)
      .withQkNorm(
        new RmsNorm(await uploadF32(backend, weights.queryNorm), 1e-6),
        new RmsNorm(await uploadF32(backend, weights.keyNorm), 1e-6),
      )
      .withRotary(rope)
      .withSlidingWindow(3);
    const output = await backend.read(attention.forward(input, { backend, firstPosition: 0, cache }));

    const perHead = (matrix: number[][], norm: number[]) =>
      matrix.map((row) =>
        rmsNorm(
          Array.from({ length: row.length / 4 }, (_, head) => row.slice(head * 4, head * 4 + 4)),
          norm,
          1e-6,
        ).flat(),
      );
    const queries = ropeHalfSplit(
      perHead(matmul(hidden, weights.query), weights.queryNorm),
      4,
      rope.inverseFrequencies,
      0,
    );
    const keys = ropeHalfSplit(
      perHead(matmul(hidden, weights.key, weights.keyBias), weights.keyNorm),
      4,
      rope.inverseFrequencies,
      0,
    );
    const values = matmul(hidden, weights.value);
    const attended = causalAttention(queries, keys, values, { ...geometry, scale: 0.5, window: 3 });
    expect(maxDifference(output, matmul(attended, weights.output))).toBeLessThan(1e-5);
  });

  it('gives the same result from a fused QKV projection', async () => {
    const { backend, weights, projections, cache, input } = await setUp(3);
    const separate = await backend.read(
      CausalAttention.create(projections, geometry).forward(input, { backend, firstPosition: 0, cache }),
    );
    const keyBiasFused = [...new Array(16).fill(0), ...weights.keyBias, ...new Array(8).fill(0)];
    const fused = CausalAttention.create(
      {
        queryKeyValue: new Linear(
          await uploadF32(backend, [...weights.query, ...weights.key, ...weights.value]),
          await uploadF32(backend, keyBiasFused),
        ),
        output: projections.output,
      },
      geometry,
    );
    const cache2 = { keys: backend.zeros([rows, 8]), values: backend.zeros([rows, 8]) };
    const together = await backend.read(fused.forward(input, { backend, firstPosition: 0, cache: cache2 }));
    expect(
      Math.max(...Array.from(together, (value, index) => Math.abs(value - (separate[index] as number)))),
    ).toBeLessThan(1e-5);
  });

  it('gives exactly the numbers of separate projections from grouped ones ([q | k] and [v]), and rejects misaligned groups', async () => {
    const { backend, weights, projections, cache, input } = await setUp(5);
    const separate = await backend.read(
      CausalAttention.create(projections, geometry).forward(input, { backend, firstPosition: 0, cache }),
    );
    const queryKey = new Linear(
      await uploadF32(backend, [...weights.query, ...weights.key]),
      await uploadF32(backend, [...new Array(16).fill(0), ...weights.keyBias]),
    );
    const grouped = CausalAttention.create(
      { groups: [queryKey, projections.value], output: projections.output },
      geometry,
    );
    const cache2 = { keys: backend.zeros([rows, 8]), values: backend.zeros([rows, 8]) };
    expect(await backend.read(grouped.forward(input, { backend, firstPosition: 0, cache: cache2 }))).toEqual(separate);
    const code = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return StrataError.isInstance(error) ? error.code : 'other';
      }
      return 'none';
    };
    // A group that ends inside the key part, and groups that leave the value out.
    const misaligned = new Linear(await uploadF32(backend, [...weights.query, ...weights.key.slice(0, 4)]));
    expect(code(() => CausalAttention.create({ groups: [misaligned], output: projections.output }, geometry))).toBe(
      'SHAPE_MISMATCH',
    );
    expect(code(() => CausalAttention.create({ groups: [queryKey], output: projections.output }, geometry))).toBe(
      'SHAPE_MISMATCH',
    );
  });

  it('rejects inconsistent geometry and settings with INVALID_CONFIG or SHAPE_MISMATCH', async () => {
    const { projections } = await setUp(4);
    const code = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return StrataError.isInstance(error) ? error.code : 'other';
      }
      return 'none';
    };
    expect(code(() => CausalAttention.create(projections, { heads: 4, keyValueHeads: 3, headDimensions: 4 }))).toBe(
      'INVALID_CONFIG',
    );
    expect(code(() => CausalAttention.create(projections, { heads: 2, keyValueHeads: 2, headDimensions: 4 }))).toBe(
      'SHAPE_MISMATCH',
    );
    const attention = CausalAttention.create(projections, geometry);
    expect(code(() => attention.withSlidingWindow(0))).toBe('INVALID_CONFIG');
    expect(code(() => attention.withScale(-1))).toBe('INVALID_CONFIG');
    expect(code(() => attention.withSoftcap(0))).toBe('INVALID_CONFIG');
    expect(
      code(() => attention.withRotary(ropeParameters({ headDimensions: 8, base: 10000, pairing: 'adjacent' }))),
    ).toBe('INVALID_CONFIG');
  });
});
