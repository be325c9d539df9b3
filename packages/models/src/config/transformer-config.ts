import type { ActivationKind } from '@strata/core';
import type { RopeScaling } from '@strata/primitives';

/** How a family assembles its layers: decided by the family, never by the file. */
export interface ModelStructure {
  /** RMSNorm or LayerNorm everywhere. */
  readonly norm: 'rms' | 'layer';
  /** Sequential (attention then FFN) or parallel (both from one norm, Phi-2) layers. */
  readonly block: 'sequential' | 'parallel';
  /** Gated (SwiGLU/GeGLU) or plain (up → activation → down) feed-forward; MoE when the config has experts. */
  readonly feedForward: 'gated' | 'plain';
  /** Per-head RMSNorm of queries and keys before RoPE (Qwen3, Gemma 3). */
  readonly queryKeyNorm: boolean;
  /** Norms of the attention and FFN outputs before the residual adds (Gemma 2/3). */
  readonly postNorms: boolean;
  /** The model computes norms with weight + offset (Gemma: 1); the loader folds it into the weight. */
  readonly normWeightOffset: number;
  /** Embeddings are multiplied by √hiddenSize (Gemma). */
  readonly scaleEmbeddings: boolean;
}

/** Rotary embedding settings of a model (pairing is a property of the weight format, not of the config). */
export interface RopeConfig {
  /** θ base of global (full-attention) layers. */
  readonly base: number;
  /** θ base of sliding-window layers when it differs (Gemma 3); undefined: same as base. */
  readonly localBase: number | undefined;
  /** Scaling of sliding-window layers when it differs (Gemma 3 local layers: none); undefined: same as scaling. */
  readonly localScaling: RopeScaling | undefined;
  /** Rotated leading dimensions of each head. */
  readonly rotaryDimensions: number;
  /** Frequency scaling of global layers. */
  readonly scaling: RopeScaling;
  /**
   * Pre-training context before extension when the file states it apart from the scaling (GGUF
   * `rope.scaling.original_context_length`: Phi-3's LongRoPE factors are tensors, the family picks them by it).
   */
  readonly originalContextLength?: number;
}

/** Mixture-of-experts settings. */
export interface ExpertsConfig {
  /** Experts per layer. */
  readonly count: number;
  /** Experts chosen per token. */
  readonly perToken: number;
  /** Intermediate size of one expert. */
  readonly feedForwardSize: number;
  /** Renormalise the chosen experts' weights. */
  readonly normalize: boolean;
}

/**
 * A transformer's configuration, parsed once from GGUF metadata or a Hugging Face config.json, every default resolved.
 * Raw metadata never travels past this object.
 */
export interface TransformerConfig {
  /** The family name (`llama`, `qwen3`). */
  readonly family: string;
  /** The file's architecture name (GGUF `general.architecture` or HF `model_type`). */
  readonly architecture: string;
  /** Width of the hidden states. */
  readonly hiddenSize: number;
  /** Number of layers. */
  readonly layerCount: number;
  /** Vocabulary size. */
  readonly vocabularySize: number;
  /** Query heads. */
  readonly heads: number;
  /** Key/value heads. */
  readonly keyValueHeads: number;
  /** Size of one head. */
  readonly headDimensions: number;
  /** Intermediate size of the dense FFN. */
  readonly feedForwardSize: number;
  /** ε of every norm. */
  readonly normEpsilon: number;
  /** Pre-training context length (max_position_embeddings, `<arch>.context_length`). */
  readonly contextLength: number;
  /** Activation of the FFN. */
  readonly activation: ActivationKind;
  /** Rotary embedding. */
  readonly rope: RopeConfig;
  /** Sliding window of each layer (undefined: full attention). */
  readonly layerWindows: readonly (number | undefined)[];
  /** Mixture of experts, when the model has one. */
  readonly experts: ExpertsConfig | undefined;
  /** The output projection is the embedding table. */
  readonly tiedEmbeddings: boolean;
  /** Multiplier of q·k. */
  readonly attentionScale: number;
  /** Attention score softcap (Gemma 2). */
  readonly attentionSoftcap: number | undefined;
  /** Final logit softcap (Gemma 2). */
  readonly finalSoftcap: number | undefined;
  /** Multiplier of the embeddings (√hiddenSize for Gemma, else 1). */
  readonly embeddingScale: number;
  /** How the family assembles layers. */
  readonly structure: ModelStructure;
}
