import type { NameOverrides, NameTable, TensorNaming } from './tensor-naming.js';
import { overrideNames } from './tensor-naming.js';

/** Hugging Face names of Llama-like models (transformers `LlamaForCausalLM`, Qwen2/3, Qwen-MoE experts). */
export const HUGGING_FACE_NAMES: NameTable = Object.freeze({
  model: { tokenEmbedding: 'model.embed_tokens', outputNorm: 'model.norm', output: 'lm_head' },
  layer: {
    attentionNorm: 'model.layers.{layer}.input_layernorm',
    query: 'model.layers.{layer}.self_attn.q_proj',
    key: 'model.layers.{layer}.self_attn.k_proj',
    value: 'model.layers.{layer}.self_attn.v_proj',
    queryKeyValue: 'model.layers.{layer}.self_attn.qkv_proj',
    attentionOutput: 'model.layers.{layer}.self_attn.o_proj',
    queryNorm: 'model.layers.{layer}.self_attn.q_norm',
    keyNorm: 'model.layers.{layer}.self_attn.k_norm',
    feedForwardNorm: 'model.layers.{layer}.post_attention_layernorm',
    postFeedForwardNorm: 'model.layers.{layer}.post_feedforward_layernorm',
    gate: 'model.layers.{layer}.mlp.gate_proj',
    up: 'model.layers.{layer}.mlp.up_proj',
    gateUp: 'model.layers.{layer}.mlp.gate_up_proj',
    down: 'model.layers.{layer}.mlp.down_proj',
    router: 'model.layers.{layer}.mlp.gate',
    expertGate: 'model.layers.{layer}.mlp.experts.{expert}.gate_proj',
    expertUp: 'model.layers.{layer}.mlp.experts.{expert}.up_proj',
    expertDown: 'model.layers.{layer}.mlp.experts.{expert}.down_proj',
  },
});

/** The naming of a Hugging Face safetensors checkpoint, with a family's overrides. */
export function huggingFaceNaming(overrides?: NameOverrides): TensorNaming {
  return Object.freeze({
    format: 'huggingface',
    names: overrideNames(HUGGING_FACE_NAMES, overrides),
    expertLayout: 'per-expert',
    ropePairing: 'half-split',
    normsIncludeOffset: false,
  });
}
