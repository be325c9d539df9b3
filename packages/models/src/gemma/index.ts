/**
 * Gemma family: Llama layout with GeGLU (tanh), embeddings scaled by √hidden, RMSNorm computed as x̂ · (1 + w), tied
 * output. The 1 + w is a storage quirk the weight loader resolves: Hugging Face files hold w, llama.cpp's GGUF 1 + w.
 * @packageDocumentation
 */
import { LLAMA_STRUCTURE } from '../config/family-defaults.js';
import type { ModelStructure } from '../config/transformer-config.js';
import { defineFamily, type ModelFamily } from '../registry/model-family.js';

/** What every Gemma generation shares: norm weight offset 1 and √hidden embedding scale. */
export const GEMMA_STRUCTURE: ModelStructure = Object.freeze({
  ...LLAMA_STRUCTURE,
  normWeightOffset: 1,
  scaleEmbeddings: true,
});

/**
 * The q·k scale denominator² of a Gemma generation in GGUF, which does not state `query_pre_attn_scalar`: the head size,
 * except for the 27B checkpoints (recognised by their layer count, as llama.cpp does), trained with hidden / heads.
 */
export function gemmaQueryScalar(
  largeLayerCount: number,
): (geometry: { hiddenSize: number; heads: number; headDimensions: number; layerCount: number }) => number {
  return ({ hiddenSize, heads, headDimensions, layerCount }) =>
    layerCount === largeLayerCount ? hiddenSize / heads : headDimensions;
}

/** The Gemma family (GGUF `gemma`; Hugging Face `gemma`). */
export const gemma: ModelFamily = defineFamily({
  name: 'gemma',
  ggufArchitectures: ['gemma'],
  huggingFaceModelTypes: ['gemma'],
  defaults: { family: 'gemma', structure: GEMMA_STRUCTURE, activation: 'gelu-tanh', normalizeExperts: false },
});
