/**
 * Phi-3 family: Llama structure with a fused QKV projection and a fused gate/up projection ([gate | up] rows), and
 * LongRoPE (short factors within the original context, long beyond it).
 * @packageDocumentation
 */
import { LLAMA_STRUCTURE } from '../config/family-defaults.js';
import { defineFamily, type ModelFamily } from '../registry/model-family.js';

/**
 * The Phi-3 family (GGUF `phi3`; Hugging Face `phi3`). Hugging Face names the fused tensors `qkv_proj` and
 * `gate_up_proj`; llama.cpp's GGUF names them `attn_qkv` and `ffn_up` (then holding both halves).
 */
export const phi3: ModelFamily = defineFamily({
  name: 'phi3',
  ggufArchitectures: ['phi3'],
  huggingFaceModelTypes: ['phi3'],
  defaults: { family: 'phi3', structure: LLAMA_STRUCTURE, activation: 'silu', normalizeExperts: false },
  naming: { gguf: { layer: { gateUp: 'blk.{layer}.ffn_up' } } },
});
