/**
 * Phi-2 family: LayerNorm with bias, one norm feeding attention and the MLP in parallel, rotary on half of each head,
 * GELU (tanh) MLP `fc1`/`fc2`, biases on every projection including the output head.
 * @packageDocumentation
 */
import { LLAMA_STRUCTURE } from '../config/family-defaults.js';
import type { ModelStructure } from '../config/transformer-config.js';
import { defineFamily, type ModelFamily } from '../registry/model-family.js';

/** LayerNorm (with bias), one norm feeding attention and a plain MLP in parallel. */
export const PHI2_STRUCTURE: ModelStructure = Object.freeze({
  ...LLAMA_STRUCTURE,
  norm: 'layer',
  block: 'parallel',
  feedForward: 'plain',
});

/** The Phi-2 family (GGUF `phi2`; Hugging Face `phi`). Partial rotary comes from the file (`rope.dimension_count`). */
export const phi2: ModelFamily = defineFamily({
  name: 'phi2',
  ggufArchitectures: ['phi2'],
  huggingFaceModelTypes: ['phi'],
  defaults: {
    family: 'phi2',
    structure: PHI2_STRUCTURE,
    activation: 'gelu-tanh',
    normalizeExperts: false,
  },
  naming: {
    huggingFace: {
      model: { outputNorm: 'model.final_layernorm' },
      layer: {
        attentionOutput: 'model.layers.{layer}.self_attn.dense',
        up: 'model.layers.{layer}.mlp.fc1',
        down: 'model.layers.{layer}.mlp.fc2',
      },
    },
  },
});
