/**
 * Gemma 2 family: Gemma plus norms of the attention and FFN outputs, attention and final logit softcapping (from the
 * file), and sliding-window attention on every other layer (even layers local, odd layers global).
 * @packageDocumentation
 */
import type { NameOverrides } from '../naming/tensor-naming.js';
import { GEMMA_STRUCTURE, gemmaQueryScalar } from '../gemma/index.js';
import { defineFamily, type ModelFamily } from '../registry/model-family.js';

/**
 * Hugging Face names of Gemma 2/3 norms: `post_attention_layernorm` normalises the attention output (not the FFN input,
 * as in Llama); `pre_feedforward_layernorm` is the FFN input norm.
 */
export const GEMMA_POST_NORM_NAMES: NameOverrides = Object.freeze({
  layer: {
    postAttentionNorm: 'model.layers.{layer}.post_attention_layernorm',
    feedForwardNorm: 'model.layers.{layer}.pre_feedforward_layernorm',
  },
});

/**
 * The Gemma 2 family (GGUF `gemma2`; Hugging Face `gemma2`). config.json states `layer_types` and
 * `query_pre_attn_scalar`; GGUF states one window, applied to even layers as llama.cpp does.
 */
export const gemma2: ModelFamily = defineFamily({
  name: 'gemma2',
  ggufArchitectures: ['gemma2'],
  huggingFaceModelTypes: ['gemma2'],
  defaults: {
    family: 'gemma2',
    structure: { ...GEMMA_STRUCTURE, postNorms: true },
    activation: 'gelu-tanh',
    normalizeExperts: false,
    isSlidingLayer: (layer) => layer % 2 === 0,
    queryScalar: gemmaQueryScalar(46),
  },
  naming: { huggingFace: GEMMA_POST_NORM_NAMES },
});
