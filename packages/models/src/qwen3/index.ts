/**
 * Qwen3 family: Llama structure with per-head RMSNorm of queries and keys before RoPE.
 * @packageDocumentation
 */
import { LLAMA_STRUCTURE } from '../config/family-defaults.js';
import { defineFamily, type ModelFamily } from '../registry/model-family.js';

/** The Qwen3 family (GGUF `qwen3`; Hugging Face `qwen3`). */
export const qwen3: ModelFamily = defineFamily({
  name: 'qwen3',
  ggufArchitectures: ['qwen3'],
  huggingFaceModelTypes: ['qwen3'],
  defaults: {
    family: 'qwen3',
    structure: { ...LLAMA_STRUCTURE, queryKeyNorm: true },
    activation: 'silu',
    normalizeExperts: false,
  },
});
