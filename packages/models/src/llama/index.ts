/**
 * Llama family: Llama 1–3, Mistral (sliding window from config.json) and Mixtral (MoE): RMSNorm, SwiGLU, RoPE.
 * @packageDocumentation
 */
import { LLAMA_STRUCTURE } from '../config/family-defaults.js';
import { defineFamily, type ModelFamily } from '../registry/model-family.js';

/** Mixtral's Hugging Face names for the router and experts (w1 gate, w3 up, w2 down). */
const MIXTRAL_EXPERT_NAMES = {
  router: 'model.layers.{layer}.block_sparse_moe.gate',
  expertGate: 'model.layers.{layer}.block_sparse_moe.experts.{expert}.w1',
  expertUp: 'model.layers.{layer}.block_sparse_moe.experts.{expert}.w3',
  expertDown: 'model.layers.{layer}.block_sparse_moe.experts.{expert}.w2',
};

/** The Llama family (GGUF `llama`; Hugging Face `llama`, `mistral`, `mixtral`). */
export const llama: ModelFamily = defineFamily({
  name: 'llama',
  ggufArchitectures: ['llama'],
  huggingFaceModelTypes: ['llama', 'mistral', 'mixtral'],
  defaults: { family: 'llama', structure: LLAMA_STRUCTURE, activation: 'silu', normalizeExperts: true },
  naming: { huggingFace: { layer: MIXTRAL_EXPERT_NAMES } },
});
