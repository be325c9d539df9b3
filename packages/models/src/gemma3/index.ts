/**
 * Gemma 3 family: Gemma 2's post-norms without softcapping, per-head QK RMSNorm (1 + w as well), five sliding-window
 * layers for each global one, and a separate RoPE base for the local layers.
 * @packageDocumentation
 */
import { GEMMA_STRUCTURE, gemmaQueryScalar } from '../gemma/index.js';
import { GEMMA_POST_NORM_NAMES } from '../gemma2/index.js';
import { defineFamily, type ModelFamily } from '../registry/model-family.js';

/** Layers per local/global cycle: the last of every six is global. */
const PATTERN = 6;

/**
 * The Gemma 3 text family (GGUF `gemma3`; Hugging Face `gemma3_text`). config.json states `layer_types` and
 * `rope_local_base_freq` (or per-layer-type `rope_parameters`); GGUF states `rope.freq_base_swa` (10000 when absent).
 */
export const gemma3: ModelFamily = defineFamily({
  name: 'gemma3',
  ggufArchitectures: ['gemma3'],
  huggingFaceModelTypes: ['gemma3_text'],
  defaults: {
    family: 'gemma3',
    structure: { ...GEMMA_STRUCTURE, postNorms: true, queryKeyNorm: true },
    activation: 'gelu-tanh',
    normalizeExperts: false,
    isSlidingLayer: (layer) => (layer + 1) % PATTERN !== 0,
    localRopeBase: 10000,
    queryScalar: gemmaQueryScalar(62),
  },
  naming: { huggingFace: GEMMA_POST_NORM_NAMES },
});
