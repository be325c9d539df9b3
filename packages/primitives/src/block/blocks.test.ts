import type { Backend, Tensor } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { describe, expect, it } from 'vitest';
import { CausalAttention } from '../attention/causal-attention.js';
import type { FeedForward } from '../feed-forward/feed-forward.js';
import { Linear } from '../layers/linear.js';
import { RmsNorm } from '../layers/norm.js';
import { randomMatrix, seeded, uploadF32 } from '../testing/reference.js';
import { ParallelTransformerBlock } from './parallel-block.js';
import { TransformerBlock } from './transformer-block.js';

const width = 8;
const rows = 3;

async function parts(backend: Backend) {
  const random = seeded(11);
  const linear = async (out: number, inputs: number) =>
    new Linear(await uploadF32(backend, randomMatrix(random, out, inputs)));
  const norm = async () =>
    new RmsNorm(
      await uploadF32(backend, randomMatrix(random, 1, width)[0]?.map((value) => 1 + value) as number[]),
      1e-6,
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
  const up = await linear(width, width);
  const feedForward: FeedForward = { forward: (b, input) => b.activation(up.forward(b, input), 'silu') };
  const hidden = backend.upload(Float32Array.from(randomMatrix(random, rows, width).flat()), [rows, width]);
  return { attention, feedForward, hidden, norms: [await norm(), await norm(), await norm(), await norm()] };
}

const cacheOf = (backend: Backend) => ({ keys: backend.zeros([rows, 4]), values: backend.zeros([rows, 4]) });

async function close(backend: Backend, a: Tensor, b: Tensor): Promise<number> {
  const [x, y] = [await backend.read(a), await backend.read(b)];
  return Math.max(...Array.from(x, (value, index) => Math.abs(value - (y[index] as number))));
}

describe('blocks', () => {
  it('TransformerBlock: h = x + post(attn(norm x)); out = h + post(ffn(norm h))', async () => {
    const backend = createCpuBackend();
    const { attention, feedForward, hidden, norms } = await parts(backend);
    const [attentionNorm, postAttentionNorm, feedForwardNorm, postFeedForwardNorm] = norms as [
      RmsNorm,
      RmsNorm,
      RmsNorm,
      RmsNorm,
    ];
    const block = new TransformerBlock({
      attentionNorm,
      attention,
      postAttentionNorm,
      feedForwardNorm,
      feedForward,
      postFeedForwardNorm,
    });
    const output = block.forward(hidden, { backend, firstPosition: 0, cache: cacheOf(backend) });

    const attended = backend.add(
      hidden,
      postAttentionNorm.forward(
        backend,
        attention.forward(attentionNorm.forward(backend, hidden), {
          backend,
          firstPosition: 0,
          cache: cacheOf(backend),
        }),
      ),
    );
    const expected = backend.add(
      attended,
      postFeedForwardNorm.forward(backend, feedForward.forward(backend, feedForwardNorm.forward(backend, attended))),
    );
    expect(await close(backend, output, expected)).toBeLessThan(1e-6);
    expect(block.cacheSpec).toEqual({ keyValueWidth: 4, headDimensions: 4 });
    // `with` replaces one part and keeps the others.
    const plain = block.with({ postAttentionNorm: undefined, postFeedForwardNorm: undefined });
    expect(plain.parts.attention).toBe(attention);
    expect(
      await close(backend, plain.forward(hidden, { backend, firstPosition: 0, cache: cacheOf(backend) }), output),
    ).toBeGreaterThan(1e-3);
  });

  it('ParallelTransformerBlock: out = x + attn(norm x) + ffn(norm x)', async () => {
    const backend = createCpuBackend();
    const { attention, feedForward, hidden, norms } = await parts(backend);
    const norm = norms[0] as RmsNorm;
    const block = new ParallelTransformerBlock({ norm, attention, feedForward });
    const output = block.forward(hidden, { backend, firstPosition: 0, cache: cacheOf(backend) });
    const normed = norm.forward(backend, hidden);
    const expected = backend.add(
      backend.add(hidden, attention.forward(normed, { backend, firstPosition: 0, cache: cacheOf(backend) })),
      feedForward.forward(backend, normed),
    );
    expect(await close(backend, output, expected)).toBeLessThan(1e-6);
  });
});
