/**
 * Qwen3-MoE family: Qwen3 attention (QK norm) with a mixture-of-experts feed-forward network in every layer.
 * @packageDocumentation
 */
import { LLAMA_STRUCTURE } from '../config/family-defaults.js';
import { defineFamily, type ModelFamily } from '../registry/model-family.js';

/**
 * The Qwen3-MoE family (GGUF `qwen3moe`; Hugging Face `qwen3_moe`). Experts are renormalised unless config.json says
 * `norm_topk_prob: false` (llama.cpp always renormalises for this architecture).
 */
export const qwen3Moe: ModelFamily = defineFamily({
  name: 'qwen3-moe',
  ggufArchitectures: ['qwen3moe'],
  huggingFaceModelTypes: ['qwen3_moe'],
  defaults: {
    family: 'qwen3-moe',
    structure: { ...LLAMA_STRUCTURE, queryKeyNorm: true },
    activation: 'silu',
    normalizeExperts: true,
  },
});
