/**
 * Phi-2 family: LayerNorm with bias, one norm feeding attention and the MLP in parallel, rotary on half of each head,
 * GELU (tanh) MLP `fc1`/`fc2`, biases on every projection including the output head.
 * @packageDocumentation
 */
import { defineFamily, type ModelFamily } from '../registry/model-family.js';

/** The Phi-2 family (GGUF `phi2`; Hugging Face `phi`). Partial rotary comes from the file (`rope.dimension_count`). */
export const phi2: ModelFamily = defineFamily({
  name: 'phi2',
  ggufArchitectures: ['phi2'],
  huggingFaceModelTypes: ['phi'],
  defaults: {
    family: 'phi2',
    structure: {
      norm: 'layer',
      block: 'parallel',
      feedForward: 'plain',
      queryKeyNorm: false,
      postNorms: false,
      normWeightOffset: 0,
      scaleEmbeddings: false,
    },
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
