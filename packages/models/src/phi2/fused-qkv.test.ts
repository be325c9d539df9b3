import { readFileSync } from 'node:fs';
import { createCpuBackend } from '@strata/kernels-cpu';
import type { GgufWriteTensor } from '@strata/loaders';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../load-model.js';
import { forwardLogits } from '../builder/forward-logits.js';
import { rewriteGguf } from '../testing/rewrite-gguf.js';

// Older llama.cpp converters wrote Phi-2 with one `attn_qkv` tensor (rows: queries, keys, values) and its bias; the
// current one writes `attn_q`, `attn_k`, `attn_v`. Both layouts must give transformers' logits.
const fixture = '../shared/fixtures/models/phi2';

function concatenate(parts: readonly GgufWriteTensor[]): Uint8Array {
  const joined = new Uint8Array(parts.reduce((total, part) => total + (part.data as Uint8Array).byteLength, 0));
  let offset = 0;
  for (const part of parts) {
    joined.set(part.data as Uint8Array, offset);
    offset += (part.data as Uint8Array).byteLength;
  }
  return joined;
}

/** Replaces each layer's separate Q/K/V weights and biases by one fused tensor of each. */
function fuseQueryKeyValue(tensors: GgufWriteTensor[]): GgufWriteTensor[] {
  const byName = new Map(tensors.map((tensor) => [tensor.name, tensor]));
  const separate = /^blk\.(\d+)\.attn_([qkv])\.(weight|bias)$/;
  const result: GgufWriteTensor[] = [];
  for (const tensor of tensors) {
    const match = separate.exec(tensor.name);
    if (match === null) {
      result.push(tensor);
      continue;
    }
    const [, layer, which, suffix] = match;
    if (which !== 'q') continue;
    const parts = ['q', 'k', 'v'].map((part) => byName.get(`blk.${layer}.attn_${part}.${suffix}`) as GgufWriteTensor);
    const rows = parts.reduce((total, part) => total + (part.shape[0] as number), 0);
    result.push({
      name: `blk.${layer}.attn_qkv.${suffix}`,
      type: 'F32',
      shape: [rows, ...tensor.shape.slice(1)],
      data: concatenate(parts),
    });
  }
  return result;
}

describe('phi2 GGUF with a fused QKV projection', () => {
  it('matches transformers as the separate layout does', async () => {
    const backend = createCpuBackend();
    const files = await rewriteGguf(`${fixture}/model-f32.gguf`, { tensors: fuseQueryKeyValue });
    expect(files.tensors.tensors.has('blk.0.attn_qkv.bias')).toBe(true);
    expect(files.tensors.tensors.has('blk.0.attn_q.weight')).toBe(false);
    const expected = JSON.parse(readFileSync(`${fixture}/expected.json`, 'utf8'));
    const logits = await forwardLogits(await loadModel(files, backend), backend, expected.input_ids);
    let maximum = 0;
    logits.forEach((row, position) => {
      row.forEach((value, index) => {
        maximum = Math.max(maximum, Math.abs(value - expected.logits[position][index]));
      });
    });
    expect(maximum).toBeLessThanOrEqual(1e-3);
  });
});
