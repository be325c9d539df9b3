/**
 * Qwen2 family: Llama structure with biases on the Q, K and V projections (found in the files, not configured).
 * @packageDocumentation
 */
import { LLAMA_STRUCTURE } from '../config/family-defaults.js';
import { defineFamily, type ModelFamily } from '../registry/model-family.js';

/** The Qwen2 family (GGUF `qwen2`; Hugging Face `qwen2`). */
export const qwen2: ModelFamily = defineFamily({
  name: 'qwen2',
  ggufArchitectures: ['qwen2'],
  huggingFaceModelTypes: ['qwen2'],
  defaults: { family: 'qwen2', structure: LLAMA_STRUCTURE, activation: 'silu', normalizeExperts: false },
});
