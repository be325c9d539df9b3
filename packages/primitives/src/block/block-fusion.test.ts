import type { Backend, Tensor } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { describe, expect, it } from 'vitest';
import { CausalAttention } from '../attention/causal-attention.js';
import { GatedMlp } from '../feed-forward/gated-mlp.js';
import { Mlp } from '../feed-forward/mlp.js';
import { Linear } from '../layers/linear.js';
import { LayerNorm, type Norm, RmsNorm } from '../layers/norm.js';
import { randomMatrix, seeded, uploadF32 } from '../testing/reference.js';
import { ParallelTransformerBlock } from './parallel-block.js';
import { TransformerBlock } from './transformer-block.js';

// Blocks hand their branches the input norm and the residual add to fold into the fused projection ops. On the CPU
// reference those ops are the composition of the plain ones, so a block must give exactly (bit for bit) the numbers of
// norm → branch → add written out with plain ops, and call the fused ops only for what is exact to fold.

const [width, rows, intermediate] = [8, 3, 12];

/** The backend with a count of the calls of each method. */
function counting(backend: Backend): { backend: Backend; calls: Map<string, number> } {
  const calls = new Map<string, number>();
  const proxy = new Proxy(backend, {
    get(target, property) {
      const value = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        calls.set(String(property), (calls.get(String(property)) ?? 0) + 1);
        return (value as (...parameters: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { backend: proxy, calls };
}

async function parts(backend: Backend) {
  const random = seeded(5);
  const linear = async (out: number, inputs: number) =>
    new Linear(await uploadF32(backend, randomMatrix(random, out, inputs)));
  const gain = async () =>
    uploadF32(
      backend,
      randomMatrix(random, 1, width)[0]!.map((value) => 1 + value),
    );
  const attention = CausalAttention.create(
    {
      query: await linear(8, width),
      key: await linear(4, width),
      value: await linear(4, width),
      output: await linear(width, 8),
    },
    { heads: 2, keyValueHeads: 1, headDimensions: 4 },
  );
  const gateUp = { gate: await linear(intermediate, width), up: await linear(intermediate, width) };
  const gated = new GatedMlp(gateUp, await linear(width, intermediate), 'silu');
  const plain = new Mlp(await linear(intermediate, width), await linear(width, intermediate), 'gelu-tanh');
  const norms = [new RmsNorm(await gain(), 1e-6), new RmsNorm(await gain(), 1e-5), new RmsNorm(await gain(), 1e-6)];
  const layerNorm = new LayerNorm(await gain(), await gain(), 1e-5);
  const hidden = backend.upload(Float32Array.from(randomMatrix(random, rows, width).flat()), [rows, width]);
  return { attention, gateUp, gated, plain, norms, layerNorm, hidden };
}

const context = (backend: Backend) => ({
  backend,
  firstPosition: 0,
  cache: { keys: backend.zeros([rows, 4]), values: backend.zeros([rows, 4]) },
});

/** x + [post](branch(norm(x))) with plain ops. */
function branch(backend: Backend, input: Tensor, norm: Norm, run: (normed: Tensor) => Tensor, post?: Norm): Tensor {
  const result = run(norm.forward(backend, input));
  return backend.add(input, post === undefined ? result : post.forward(backend, result));
}

describe('fused blocks', () => {
  it('a pre-norm block folds RMSNorms and residual adds: the same numbers, no norm or add ops', async () => {
    const cpu = createCpuBackend();
    const { attention, gateUp, gated, norms, hidden } = await parts(cpu);
    const [attentionNorm, feedForwardNorm] = norms as [RmsNorm, RmsNorm];
    const block = new TransformerBlock({ attentionNorm, attention, feedForwardNorm, feedForward: gated });
    const { backend, calls } = counting(cpu);
    const output = await cpu.read(block.forward(hidden, context(backend)));
    expect(Object.fromEntries(calls)).toMatchObject({ rmsNormMatmul: 2, matmulAdd: 2 });
    expect(calls.get('rmsNorm') ?? 0).toBe(0);
    expect(calls.get('add') ?? 0).toBe(0);
    expect(calls.get('matmul') ?? 0).toBe(0);

    const unfusedContext = context(cpu);
    const attended = branch(cpu, hidden, attentionNorm, (normed) => attention.forward(normed, unfusedContext));
    const expected = branch(cpu, attended, feedForwardNorm, (normed) => {
      const gate = cpu.matmul(normed, gateUp.gate.weight);
      const up = cpu.matmul(normed, gateUp.up.weight);
      return cpu.matmul(cpu.gatedActivation(gate, up, 'silu'), gated.down.weight);
    });
    expect(output).toEqual(await cpu.read(expected));
  });

  it('post-norms keep their adds; a LayerNorm runs as its own op while the residual still folds', async () => {
    const cpu = createCpuBackend();
    const { attention, gated, plain, norms, layerNorm, hidden } = await parts(cpu);
    const [attentionNorm, feedForwardNorm, postNorm] = norms as [RmsNorm, RmsNorm, RmsNorm];
    const withPostNorms = new TransformerBlock({
      attentionNorm,
      attention,
      postAttentionNorm: postNorm,
      feedForwardNorm,
      feedForward: gated,
      postFeedForwardNorm: postNorm,
    });
    const first = counting(cpu);
    const output = await cpu.read(withPostNorms.forward(hidden, context(first.backend)));
    expect(Object.fromEntries(first.calls)).toMatchObject({ rmsNormMatmul: 2, rmsNorm: 2, add: 2 });
    expect(first.calls.get('matmulAdd') ?? 0).toBe(0);
    const unfusedContext = context(cpu);
    const attended = branch(
      cpu,
      hidden,
      attentionNorm,
      (normed) => attention.forward(normed, unfusedContext),
      postNorm,
    );
    const expected = branch(cpu, attended, feedForwardNorm, (normed) => gated.forward(cpu, normed), postNorm);
    expect(output).toEqual(await cpu.read(expected));

    const layerNormed = new TransformerBlock({
      attentionNorm: layerNorm,
      attention,
      feedForwardNorm: layerNorm,
      feedForward: plain,
    });
    const second = counting(cpu);
    const result = await cpu.read(layerNormed.forward(hidden, context(second.backend)));
    expect(Object.fromEntries(second.calls)).toMatchObject({ layerNorm: 2, matmulAdd: 2 });
    expect(second.calls.get('add') ?? 0).toBe(0);
    const plainContext = context(cpu);
    const sum = branch(cpu, hidden, layerNorm, (normed) => attention.forward(normed, plainContext));
    const reference = branch(cpu, sum, layerNorm, (normed) => plain.forward(cpu, normed));
    expect(result).toEqual(await cpu.read(reference));
  });

  it('a parallel block adds both branches in their output projections, in the order x + attention + ffn', async () => {
    const cpu = createCpuBackend();
    const { attention, plain, norms, hidden } = await parts(cpu);
    const norm = norms[0] as RmsNorm;
    const block = new ParallelTransformerBlock({ norm, attention, feedForward: plain });
    const { backend, calls } = counting(cpu);
    const output = await cpu.read(block.forward(hidden, context(backend)));
    expect(calls.get('matmulAdd')).toBe(2);
    expect(calls.get('add') ?? 0).toBe(0);
    const normed = norm.forward(cpu, hidden);
    const partial = cpu.add(hidden, attention.forward(normed, context(cpu)));
    expect(output).toEqual(await cpu.read(cpu.add(partial, plain.forward(cpu, normed))));
  });
});
