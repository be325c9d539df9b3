import { type ActivationKind, StrataError } from '@strata/core';
import type { ModelFiles } from '@strata/loaders';
import type { EmbeddingPooling } from '../model/capabilities.js';

/** A BERT-style encoder's normalized config (sizes from the file; vocabulary and tables from the tensors). */
export interface BertConfig {
  /** Width of the hidden states. */
  readonly hiddenSize: number;
  /** Encoder layers. */
  readonly layerCount: number;
  /** Attention heads. */
  readonly heads: number;
  /** Inner width of the feed-forward network. */
  readonly feedForwardSize: number;
  /** ε of every LayerNorm. */
  readonly normEpsilon: number;
  /** The feed-forward activation. */
  readonly activation: ActivationKind;
  /** Rows of the position table: the longest sequence the model can take. */
  readonly contextLength: number;
  /** The pooling the file names, if it names one (GGUF `bert.pooling_type`). */
  readonly pooling: EmbeddingPooling | undefined;
}

const GGUF_POOLING: Readonly<Record<number, EmbeddingPooling>> = { 1: 'mean', 2: 'cls', 3: 'last' };

const HUGGING_FACE_ACTIVATIONS: Readonly<Record<string, ActivationKind>> = {
  gelu: 'gelu-erf',
  gelu_new: 'gelu-tanh',
  gelu_pytorch_tanh: 'gelu-tanh',
  relu: 'relu',
  silu: 'silu',
};

function positiveInteger(value: unknown, key: string, where: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new StrataError('INVALID_CONFIG', `${where}: '${key}' must be a positive integer; got ${String(value)}.`, {
      details: { key, value },
    });
  }
  return value;
}

/** Reads a BERT config from GGUF metadata (`bert.*`, as llama.cpp's converter writes it) or from `config.json`. */
export function parseBertConfig(files: ModelFiles): BertConfig {
  if (files.format === 'gguf') {
    const metadata = files.metadata;
    const key = (name: string) => `bert.${name}`;
    const number = (name: string) => positiveInteger(metadata.findNumber(key(name)), key(name), files.name);
    const poolingType = metadata.findNumber(key('pooling_type'));
    if (metadata.findBool(key('attention.causal')) === true) {
      throw new StrataError('INVALID_CONFIG', `${files.name}: a causal BERT is not an encoder strata runs.`);
    }
    return Object.freeze({
      hiddenSize: number('embedding_length'),
      layerCount: number('block_count'),
      heads: number('attention.head_count'),
      feedForwardSize: number('feed_forward_length'),
      normEpsilon: metadata.findNumber(key('attention.layer_norm_epsilon')) ?? 1e-12,
      activation: 'gelu-erf',
      contextLength: number('context_length'),
      pooling: poolingType === undefined ? undefined : GGUF_POOLING[poolingType],
    });
  }
  const config = files.config;
  const where = `${files.name}/config.json`;
  const activationName = typeof config.hidden_act === 'string' ? config.hidden_act : 'gelu';
  const activation = HUGGING_FACE_ACTIVATIONS[activationName];
  if (activation === undefined) {
    throw new StrataError('INVALID_CONFIG', `${where}: unsupported hidden_act '${activationName}'.`, {
      details: { hidden_act: activationName },
    });
  }
  const epsilon = config.layer_norm_eps;
  return Object.freeze({
    hiddenSize: positiveInteger(config.hidden_size, 'hidden_size', where),
    layerCount: positiveInteger(config.num_hidden_layers, 'num_hidden_layers', where),
    heads: positiveInteger(config.num_attention_heads, 'num_attention_heads', where),
    feedForwardSize: positiveInteger(config.intermediate_size, 'intermediate_size', where),
    normEpsilon: typeof epsilon === 'number' && epsilon > 0 ? epsilon : 1e-12,
    activation,
    contextLength: positiveInteger(config.max_position_embeddings, 'max_position_embeddings', where),
    pooling: undefined,
  });
}
