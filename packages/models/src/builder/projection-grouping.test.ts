import type { Backend, WeightDescriptor } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { openModelFiles } from '@strata/loaders/node';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../load-model.js';

// The loader uploads projections that read one input as one weight of concatenated rows where the file's types allow
// (one mat-vec for Q, K and V, one for gate and up): the quant-base Q4_K_M file has all-Q4_K projections in layer 0
// and a Q6_K value projection in layer 1 (llama.cpp's "more bits" layers), qwen2 has Q/K/V biases.
const fixtures = '../shared/fixtures/models';

/** Loads a model through a backend that records every uploaded weight's name and shape. */
async function uploadsOf(path: string): Promise<Map<string, readonly number[]>> {
  const cpu = createCpuBackend();
  const uploads = new Map<string, readonly number[]>();
  const recording: Backend = Object.assign(Object.create(cpu) as Backend, {
    uploadWeight: (descriptor: WeightDescriptor, bytes: Parameters<Backend['uploadWeight']>[1]) => {
      uploads.set(descriptor.name, descriptor.shape);
      return cpu.uploadWeight(descriptor, bytes);
    },
  });
  const model = await loadModel(await openModelFiles(path), recording);
  model.dispose();
  return uploads;
}

describe('projections of one input as one weight', () => {
  it('concatenates Q, K and V of one type, keeps a value projection of another type apart, and joins gate and up', async () => {
    const uploads = await uploadsOf(`${fixtures}/quant-base/model-Q4_K_M.gguf`);
    expect(uploads.get('blk.0.attn_q.weight + blk.0.attn_k.weight + blk.0.attn_v.weight')).toEqual([512, 256]);
    expect(uploads.get('blk.1.attn_q.weight + blk.1.attn_k.weight')).toEqual([384, 256]);
    expect(uploads.get('blk.1.attn_v.weight')).toEqual([128, 256]);
    expect(uploads.get('blk.1.ffn_gate.weight + blk.1.ffn_up.weight')).toEqual([1024, 256]);
    expect(uploads.has('blk.0.attn_q.weight')).toBe(false);
  });

  it('concatenates the biases with the weights (qwen2)', async () => {
    const uploads = await uploadsOf(`${fixtures}/qwen2/model-f32.gguf`);
    const names = [...uploads.keys()];
    expect(names).toContain('blk.0.attn_q.bias + blk.0.attn_k.bias + blk.0.attn_v.bias');
    expect(names).toContain('blk.0.attn_q.weight + blk.0.attn_k.weight + blk.0.attn_v.weight');
  });
});
