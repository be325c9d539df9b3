// End-to-end check of the CPU ops against transformers: a llama forward pass written directly on the Backend ops
// (embedding, RMSNorm, matmul, RoPE, KV cache, attention, SwiGLU) over the quant-base GGUF files must reproduce the
// logits transformers computed on the exactly dequantized weights, and its greedy continuation.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Backend, KeyValueCache, RopeParameters, Tensor, WeightTensor } from '@strata/core';
import { isWeightType } from '@strata/core';
import { openGgufFile } from '@strata/loaders/node';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from './cpu-backend.js';

const folder = fileURLToPath(new URL('../../../../shared/fixtures/models/quant-base/', import.meta.url));
const config = JSON.parse(readFileSync(`${folder}config.json`, 'utf8')) as {
  hidden_size: number;
  num_attention_heads: number;
  num_key_value_heads: number;
  head_dim: number;
  num_hidden_layers: number;
  rms_norm_eps: number;
  vocab_size: number;
  rope_parameters: { rope_theta: number };
};

async function loadWeights(backend: Backend, file: string): Promise<Map<string, WeightTensor>> {
  const gguf = await openGgufFile(`${folder}model-${file}.gguf`);
  const weights = new Map<string, WeightTensor>();
  for (const [name, entry] of gguf.tensors.tensors) {
    if (entry.type === undefined || !isWeightType(entry.type)) throw new Error(`${name}: ${entry.type}`);
    weights.set(
      name,
      await backend.uploadWeight({ name, type: entry.type, shape: entry.shape }, await gguf.tensors.readBytes(name)),
    );
  }
  return weights;
}

/** Logits `[rows, vocabulary]` of `tokens` at positions `firstPosition…`, writing the caches. */
function forward(
  backend: Backend,
  weights: Map<string, WeightTensor>,
  caches: KeyValueCache[],
  tokens: number[],
  firstPosition: number,
): Tensor {
  const weight = (name: string) => weights.get(name)!;
  const { num_attention_heads: heads, num_key_value_heads: keyValueHeads, head_dim: headDimensions } = config;
  const epsilon = config.rms_norm_eps;
  const rope: RopeParameters = {
    headDimensions,
    rotaryDimensions: headDimensions,
    pairing: 'adjacent', // the GGUF converter permuted the Q/K rows of llama files
    inverseFrequencies: Float32Array.from(
      { length: headDimensions / 2 },
      (_, index) => 1 / config.rope_parameters.rope_theta ** ((2 * index) / headDimensions),
    ),
    attentionFactor: 1,
  };
  let hidden = backend.embedding(weight('token_embd.weight'), backend.upload(Int32Array.from(tokens), [tokens.length]));
  for (let layer = 0; layer < config.num_hidden_layers; layer++) {
    const block = (name: string) => weight(`blk.${layer}.${name}.weight`);
    const normed = backend.rmsNorm(hidden, block('attn_norm'), epsilon);
    const queries = backend.rope(backend.matmul(normed, block('attn_q')), firstPosition, rope);
    const keys = backend.rope(backend.matmul(normed, block('attn_k')), firstPosition, rope);
    backend.writeKeyValues(caches[layer]!, keys, backend.matmul(normed, block('attn_v')), firstPosition);
    const attended = backend.attention(queries, caches[layer]!, {
      heads,
      keyValueHeads,
      headDimensions,
      firstPosition,
      scale: 1 / Math.sqrt(headDimensions),
    });
    hidden = backend.add(hidden, backend.matmul(attended, block('attn_output')));
    const ffnInput = backend.rmsNorm(hidden, block('ffn_norm'), epsilon);
    const gated = backend.gatedActivation(
      backend.matmul(ffnInput, block('ffn_gate')),
      backend.matmul(ffnInput, block('ffn_up')),
      'silu',
    );
    hidden = backend.add(hidden, backend.matmul(gated, block('ffn_down')));
  }
  return backend.matmul(backend.rmsNorm(hidden, weight('output_norm.weight'), epsilon), weight('output.weight'));
}

describe('llama forward on CPU ops matches transformers on dequantized weights', () => {
  it.each(['f32', 'Q4_K', 'Q6_K', 'Q2_K', 'IQ4_XS', 'Q5_1', 'Q4_K_M'])('%s', async (file) => {
    const expected = JSON.parse(readFileSync(`${folder}expected-dequant-${file}.json`, 'utf8')) as {
      input_ids: number[];
      logits: number[][];
      greedy_new_tokens: number[];
    };
    const backend = createCpuBackend();
    const weights = await loadWeights(backend, file);
    const capacity = expected.input_ids.length + expected.greedy_new_tokens.length;
    const width = config.num_key_value_heads * config.head_dim;
    const caches = Array.from({ length: config.num_hidden_layers }, () => ({
      keys: backend.zeros([capacity, width]),
      values: backend.zeros([capacity, width]),
    }));
    const logits = await backend.read(forward(backend, weights, caches, expected.input_ids, 0));
    let worst = 0;
    expected.logits.forEach((row, r) => {
      row.forEach((value, c) => {
        worst = Math.max(worst, Math.abs(logits[r * config.vocab_size + c]! - value));
      });
    });
    expect(worst, `${file}: max |Δlogit|`).toBeLessThanOrEqual(5e-4);

    // Greedy continuation, one token per step through the KV cache.
    const lastRow = backend.sliceRows(
      backend.upload(logits as Float32Array, [expected.input_ids.length, config.vocab_size]),
      expected.input_ids.length - 1,
      1,
    );
    let next = (await backend.read(backend.argmax(lastRow)))[0]!;
    const generated = [next];
    for (let position = expected.input_ids.length; generated.length < expected.greedy_new_tokens.length; position++) {
      const step = forward(backend, weights, caches, [next], position);
      next = (await backend.read(backend.argmax(step)))[0]!;
      generated.push(next);
    }
    expect(generated).toEqual(expected.greedy_new_tokens);
  });
});
