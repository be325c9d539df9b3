import { describe, expect, it } from 'vitest';
import { ggufNaming } from './gguf-naming.js';
import { huggingFaceNaming } from './huggingface-naming.js';
import { layerTensorName, modelTensorName } from './tensor-naming.js';

describe('TensorNaming', () => {
  it('names GGUF tensors by role and knows which architectures have permuted Q/K rows', () => {
    const llama = ggufNaming('llama');
    expect(layerTensorName(llama, 'query', 3)).toBe('blk.3.attn_q');
    expect(layerTensorName(llama, 'expertGate', 1)).toBe('blk.1.ffn_gate_exps');
    expect(modelTensorName(llama, 'tokenEmbedding')).toBe('token_embd');
    expect(llama.ropePairing).toBe('adjacent');
    expect(ggufNaming('qwen2').ropePairing).toBe('half-split');
    expect(llama.normsIncludeOffset).toBe(true);
  });

  it('names Hugging Face tensors, per expert, with family overrides', () => {
    const naming = huggingFaceNaming({
      layer: { expertGate: 'model.layers.{layer}.block_sparse_moe.experts.{expert}.w1' },
    });
    expect(layerTensorName(naming, 'feedForwardNorm', 0)).toBe('model.layers.0.post_attention_layernorm');
    expect(layerTensorName(naming, 'expertGate', 1, 2)).toBe('model.layers.1.block_sparse_moe.experts.2.w1');
    expect(layerTensorName(naming, 'expertUp', 1, 2)).toBe('model.layers.1.mlp.experts.2.up_proj');
    expect(() => layerTensorName(naming, 'expertUp', 1)).toThrow(/expert index/);
    expect(layerTensorName(naming, 'postAttentionNorm', 0)).toBeUndefined();
    expect(naming.ropePairing).toBe('half-split');
    expect(naming.normsIncludeOffset).toBe(false);
  });
});
