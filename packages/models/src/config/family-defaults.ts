import type { ActivationKind } from '@strata/core';
import type { ModelStructure } from './transformer-config.js';

/** What a family fixes about its configuration: the parts no file states. */
export interface FamilyConfigDefaults {
  /** The family name. */
  readonly family: string;
  /** How layers are assembled. */
  readonly structure: ModelStructure;
  /** Activation when the file does not name one (GGUF never does). */
  readonly activation: ActivationKind;
  /** Renormalise the chosen experts when the file does not say (Mixtral: true). */
  readonly normalizeExperts: boolean;
  /**
   * Which layers use the sliding window when a GGUF file, or a config.json without `layer_types` or a pattern, gives one
   * window for all (Gemma 2: even layers; Gemma 3: five of six). Default: every layer.
   */
  readonly isSlidingLayer?: (layer: number) => boolean;
  /** θ base of sliding-window layers when a GGUF file does not state it (Gemma 3: 10000). */
  readonly localRopeBase?: number;
  /** The q·k scale denominator² when GGUF does not state it (Gemma: query_pre_attn_scalar); default headDimensions. */
  readonly queryScalar?: (geometry: {
    hiddenSize: number;
    heads: number;
    headDimensions: number;
    layerCount: number;
  }) => number;
}

/** The structure of a Llama-like model: RMSNorm, sequential blocks, gated FFN, no QK norm, no post norms. */
export const LLAMA_STRUCTURE: ModelStructure = Object.freeze({
  norm: 'rms',
  block: 'sequential',
  feedForward: 'gated',
  queryKeyNorm: false,
  postNorms: false,
  normWeightOffset: 0,
  scaleEmbeddings: false,
});
