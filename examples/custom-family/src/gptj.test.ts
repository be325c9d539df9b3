import type { Backend } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { bytesSource, type GgufWriteTensor, ggufValue, openModel, writeGguf } from '@strata/loaders';
import { type CompleteTransformer, loadModel } from '@strata/models';
import { describe, expect, it } from 'vitest';
import { loadWithGptj } from './index.js';

// A tiny random GPT-J: 2 layers, width 32, 4 heads of 8, rotary on the first 4 elements of each head.
const SIZE = { hidden: 32, heads: 4, headDimensions: 8, rotary: 4, feedForward: 64, layers: 2, vocabulary: 50 };

/** Deterministic uniform values in [-scale, scale) (mulberry32). */
function randomValues(count: number, seed: number, scale = 0.3): Float32Array {
  let state = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = Math.imul(state ^ (state >>> 15), 1 | state);
    mixed = (mixed + Math.imul(mixed ^ (mixed >>> 7), 61 | mixed)) ^ mixed;
    return ((((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296) * 2 - 1) * scale;
  });
}

/** The weights by GGUF name, with their shapes. */
function randomWeights(): Map<string, { shape: number[]; values: Float32Array }> {
  const { hidden, feedForward, layers, vocabulary } = SIZE;
  const weights = new Map<string, { shape: number[]; values: Float32Array }>();
  let seed = 1;
  const add = (name: string, shape: number[], offset = 0) => {
    const values = randomValues(
      shape.reduce((product, size) => product * size, 1),
      seed++,
    ).map((value) => value + offset);
    weights.set(name, { shape, values });
  };
  add('token_embd.weight', [vocabulary, hidden]);
  for (let layer = 0; layer < layers; layer++) {
    add(`blk.${layer}.attn_norm.weight`, [hidden], 1);
    add(`blk.${layer}.attn_norm.bias`, [hidden]);
    for (const projection of ['attn_q', 'attn_k', 'attn_v', 'attn_output'])
      add(`blk.${layer}.${projection}.weight`, [hidden, hidden]);
    add(`blk.${layer}.ffn_up.weight`, [feedForward, hidden]);
    add(`blk.${layer}.ffn_up.bias`, [feedForward]);
    add(`blk.${layer}.ffn_down.weight`, [hidden, feedForward]);
    add(`blk.${layer}.ffn_down.bias`, [hidden]);
  }
  add('output_norm.weight', [hidden], 1);
  add('output_norm.bias', [hidden]);
  add('output.weight', [vocabulary, hidden]);
  add('output.bias', [vocabulary]);
  return weights;
}

/**
 * Q/K rows reordered so that half-split pairs (i, i + rotary/2) of the result are the adjacent pairs (2i, 2i + 1) of
 * the input; rows past the rotary part stay. A half-split model on these rows computes what GPT-J computes.
 */
function adjacentToHalfSplit(values: Float32Array): Float32Array {
  const { hidden, headDimensions, rotary } = SIZE;
  const result = values.slice();
  for (let head = 0; head < hidden / headDimensions; head++) {
    for (let index = 0; index < rotary; index++) {
      const source = head * headDimensions + (index < rotary / 2 ? 2 * index : 2 * (index - rotary / 2) + 1);
      result.set(values.subarray(source * hidden, (source + 1) * hidden), (head * headDimensions + index) * hidden);
    }
  }
  return result;
}

async function openTinyModel(architecture: 'gptj' | 'phi2', permute: boolean) {
  const { hidden, heads, feedForward, layers, vocabulary, rotary } = SIZE;
  const metadata = {
    'general.architecture': ggufValue.string(architecture),
    [`${architecture}.context_length`]: ggufValue.u32(64),
    [`${architecture}.embedding_length`]: ggufValue.u32(hidden),
    [`${architecture}.feed_forward_length`]: ggufValue.u32(feedForward),
    [`${architecture}.block_count`]: ggufValue.u32(layers),
    [`${architecture}.attention.head_count`]: ggufValue.u32(heads),
    [`${architecture}.attention.layer_norm_epsilon`]: ggufValue.f32(1e-5),
    [`${architecture}.rope.dimension_count`]: ggufValue.u32(rotary),
    [`${architecture}.vocab_size`]: ggufValue.u32(vocabulary),
  };
  const tensors: GgufWriteTensor[] = [...randomWeights()].map(([name, { shape, values }]) => {
    const reordered = permute && /attn_[qk]\.weight$/.test(name) ? adjacentToHalfSplit(values) : values;
    return { name, type: 'F32', shape, data: new Uint8Array(reordered.buffer) };
  });
  return openModel(bytesSource(writeGguf({ metadata, tensors }), `${architecture}.gguf`));
}

async function logits(model: CompleteTransformer, backend: Backend, ids: readonly number[]): Promise<Float32Array> {
  const caches = model.cacheSpecs.map((spec) => ({
    keys: backend.zeros([ids.length, spec.keyValueWidth]),
    values: backend.zeros([ids.length, spec.keyValueWidth]),
  }));
  const hidden = model.embed(backend.upload(Int32Array.from(ids), [ids.length]));
  const output = model.lmHead(model.transform(hidden, { backend, firstPosition: 0, caches }));
  expect(output.shape).toEqual([ids.length, SIZE.vocabulary]);
  return (await backend.read(output)) as Float32Array;
}

describe('custom family: GPT-J', () => {
  const ids = [3, 17, 42, 8, 8, 25, 0, 49, 11, 30];

  it('loads through the extended registry and gives finite logits of shape [tokens, vocabulary]', async () => {
    const backend = createCpuBackend();
    const model = await loadWithGptj(await openTinyModel('gptj', false), backend);
    expect(model.config.family).toBe('gptj');
    expect(model.config.rope.rotaryDimensions).toBe(SIZE.rotary);
    const values = await logits(model, backend, ids);
    expect(values).toHaveLength(ids.length * SIZE.vocabulary);
    expect(values.every(Number.isFinite)).toBe(true);
  });

  it('is causal: logits of earlier positions do not change when later tokens do', async () => {
    const backend = createCpuBackend();
    const model = await loadWithGptj(await openTinyModel('gptj', false), backend);
    const prefix = 6;
    const first = await logits(model, backend, ids);
    const second = await logits(model, backend, [...ids.slice(0, prefix), 1, 2, 3, 4]);
    const rows = prefix * SIZE.vocabulary;
    const maximum = first
      .subarray(0, rows)
      .reduce((most, value, index) => Math.max(most, Math.abs(value - (second[index] as number))), 0);
    expect(maximum).toBeLessThan(1e-6);
    expect(Math.abs((first[rows] as number) - (second[rows] as number))).toBeGreaterThan(0);
  });

  it('equals the shipped phi2 family on the same weights with Q/K rows reordered for half-split pairing', async () => {
    const backend = createCpuBackend();
    const gptj = await logits(await loadWithGptj(await openTinyModel('gptj', false), backend), backend, ids);
    const phi2 = await logits(await loadModel(await openTinyModel('phi2', true), backend), backend, ids);
    const unpermuted = await logits(await loadModel(await openTinyModel('phi2', false), backend), backend, ids);
    const distance = (left: Float32Array, right: Float32Array) =>
      left.reduce((most, value, index) => Math.max(most, Math.abs(value - (right[index] as number))), 0);
    expect(distance(gptj, phi2)).toBeLessThan(1e-4);
    // Pairing matters: without the reordering phi2's half-split rotation is another model.
    expect(distance(gptj, unpermuted)).toBeGreaterThan(1e-3);
  });
});
