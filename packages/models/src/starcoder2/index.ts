/**
 * StarCoder2 family: sequential blocks with LayerNorm (bias), biases on every projection, and a plain GELU (tanh) MLP
 * `c_fc` → `c_proj`.
 * @packageDocumentation
 */
import { LLAMA_STRUCTURE } from '../config/family-defaults.js';
import { defineFamily, type ModelFamily } from '../registry/model-family.js';

/** The StarCoder2 family (GGUF `starcoder2`; Hugging Face `starcoder2`). Biases are found in the files. */
export const starcoder2: ModelFamily = defineFamily({
  name: 'starcoder2',
  ggufArchitectures: ['starcoder2'],
  huggingFaceModelTypes: ['starcoder2'],
  defaults: {
    family: 'starcoder2',
    structure: { ...LLAMA_STRUCTURE, norm: 'layer', feedForward: 'plain' },
    activation: 'gelu-tanh',
    normalizeExperts: false,
  },
  naming: {
    huggingFace: {
      layer: { up: 'model.layers.{layer}.mlp.c_fc', down: 'model.layers.{layer}.mlp.c_proj' },
    },
  },
});
