import type { StrataError } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { describe, expect, it } from 'vitest';
import { Linear } from '../layers/linear.js';
import { matmul, randomMatrix, seeded, uploadF32 } from '../testing/reference.js';
import { GatedMlp } from './gated-mlp.js';
import { Mlp } from './mlp.js';
import { MoE } from './mixture-of-experts.js';

const silu = (value: number) => value / (1 + Math.exp(-value));
const geluTanh = (value: number) =>
  0.5 * value * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (value + 0.044715 * value ** 3)));

function maxDifference(actual: ArrayLike<number>, expected: number[][]): number {
  return Math.max(...expected.flat().map((value, index) => Math.abs(value - (actual[index] as number))));
}

function gated(input: number[][], gate: number[][], up: number[][], down: number[][]): number[][] {
  const g = matmul(input, gate);
  const u = matmul(input, up);
  return matmul(
    g.map((row, r) => row.map((value, c) => silu(value) * ((u[r] as number[])[c] as number))),
    down,
  );
}

describe('feed-forward networks', () => {
  it('GatedMlp computes down(silu(gate x) · up x), from separate or fused projections', async () => {
    const backend = createCpuBackend();
    const random = seeded(5);
    const [gate, up, down, hidden] = [
      randomMatrix(random, 12, 6),
      randomMatrix(random, 12, 6),
      randomMatrix(random, 6, 12),
      randomMatrix(random, 3, 6),
    ];
    const input = backend.upload(Float32Array.from(hidden.flat()), [3, 6]);
    const downLinear = new Linear(await uploadF32(backend, down));
    const separate = new GatedMlp(
      { gate: new Linear(await uploadF32(backend, gate)), up: new Linear(await uploadF32(backend, up)) },
      downLinear,
      'silu',
    );
    const fused = new GatedMlp({ gateUp: new Linear(await uploadF32(backend, [...gate, ...up])) }, downLinear, 'silu');
    const expected = gated(hidden, gate, up, down);
    expect(maxDifference(await backend.read(separate.forward(backend, input)), expected)).toBeLessThan(1e-5);
    expect(maxDifference(await backend.read(fused.forward(backend, input)), expected)).toBeLessThan(1e-5);
  });

  it('Mlp computes down(gelu(up x + b) ) + b', async () => {
    const backend = createCpuBackend();
    const random = seeded(6);
    const [up, down, hidden] = [randomMatrix(random, 10, 4), randomMatrix(random, 4, 10), randomMatrix(random, 2, 4)];
    const [upBias, downBias] = [randomMatrix(random, 1, 10)[0] as number[], randomMatrix(random, 1, 4)[0] as number[]];
    const mlp = new Mlp(
      new Linear(await uploadF32(backend, up), await uploadF32(backend, upBias)),
      new Linear(await uploadF32(backend, down), await uploadF32(backend, downBias)),
      'gelu-tanh',
    );
    const actual = await backend.read(mlp.forward(backend, backend.upload(Float32Array.from(hidden.flat()), [2, 4])));
    const expected = matmul(
      matmul(hidden, up, upBias).map((row) => row.map(geluTanh)),
      down,
      downBias,
    );
    expect(maxDifference(actual, expected)).toBeLessThan(1e-5);
  });

  it.each([true, false])(
    'MoE routes each token to its top-2 experts (normalize %s) and sums them weighted',
    async (normalize) => {
      const backend = createCpuBackend();
      const random = seeded(normalize ? 7 : 8);
      const experts = 3;
      const router = randomMatrix(random, experts, 4, 4);
      const gates = Array.from({ length: experts }, () => randomMatrix(random, 5, 4));
      const ups = Array.from({ length: experts }, () => randomMatrix(random, 5, 4));
      const downs = Array.from({ length: experts }, () => randomMatrix(random, 4, 5));
      const hidden = randomMatrix(random, 4, 4);
      const stack = async (matrices: number[][][]) => {
        const flat = Float32Array.from(matrices.flat(2));
        const shape = [matrices.length, matrices[0]?.length ?? 0, matrices[0]?.[0]?.length ?? 0];
        return backend.uploadWeight({ name: 'experts', type: 'F32', shape }, new Uint8Array(flat.buffer));
      };
      const moe = new MoE(
        new Linear(await uploadF32(backend, router)),
        { gate: await stack(gates), up: await stack(ups), down: await stack(downs) },
        { topK: 2, normalize, activation: 'silu' },
      );
      const actual = await backend.read(moe.forward(backend, backend.upload(Float32Array.from(hidden.flat()), [4, 4])));
      const expected = hidden.map((row) => {
        const logits = matmul([row], router)[0] as number[];
        const exps = logits.map((value) => Math.exp(value - Math.max(...logits)));
        const probabilities = exps.map((value) => value / exps.reduce((sum, item) => sum + item, 0));
        const chosen = probabilities
          .map((probability, expert) => ({ probability, expert }))
          .sort((a, b) => b.probability - a.probability)
          .slice(0, 2);
        const total = normalize ? chosen.reduce((sum, item) => sum + item.probability, 0) : 1;
        const out = new Array(4).fill(0);
        for (const { probability, expert } of chosen) {
          const result = gated(
            [row],
            gates[expert] as number[][],
            ups[expert] as number[][],
            downs[expert] as number[][],
          )[0] as number[];
          result.forEach((value, index) => {
            out[index] += (probability / total) * value;
          });
        }
        return out;
      });
      expect(maxDifference(actual, expected)).toBeLessThan(1e-5);
    },
  );

  it('MoE rejects a top-k larger than the expert count and stacks of the wrong shape', async () => {
    const backend = createCpuBackend();
    const router = new Linear(await uploadF32(backend, randomMatrix(seeded(9), 2, 4)));
    const stack = await backend.uploadWeight({ name: 's', type: 'F32', shape: [2, 3, 4] }, new Uint8Array(96));
    const wrong = await backend.uploadWeight({ name: 's', type: 'F32', shape: [3, 3, 4] }, new Uint8Array(144));
    expect(
      () => new MoE(router, { gate: stack, up: stack, down: stack }, { topK: 3, normalize: true, activation: 'silu' }),
    ).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG' }) as unknown as StrataError);
    expect(
      () => new MoE(router, { gate: stack, up: wrong, down: stack }, { topK: 1, normalize: true, activation: 'silu' }),
    ).toThrow(expect.objectContaining({ code: 'SHAPE_MISMATCH' }) as unknown as StrataError);
  });
});
