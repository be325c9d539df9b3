/** The tensors of one BERT layer, by role. */
export type BertLayerRole =
  | 'query'
  | 'key'
  | 'value'
  | 'attentionOutput'
  | 'attentionNorm'
  | 'up'
  | 'down'
  | 'outputNorm';

/** The model-level tensors of BERT, by role. */
export type BertModelRole = 'tokens' | 'positions' | 'tokenTypes' | 'embeddingNorm';

/** Names of BERT's tensors in one format (without the `.weight` / `.bias` suffix). */
export interface BertNaming {
  /** Name of a model-level tensor. */
  model(role: BertModelRole): string;
  /** Name of a layer tensor. */
  layer(index: number, role: BertLayerRole): string;
}

const GGUF_MODEL: Readonly<Record<BertModelRole, string>> = {
  tokens: 'token_embd',
  positions: 'position_embd',
  tokenTypes: 'token_types',
  embeddingNorm: 'token_embd_norm',
};

const GGUF_LAYER: Readonly<Record<BertLayerRole, string>> = {
  query: 'attn_q',
  key: 'attn_k',
  value: 'attn_v',
  attentionOutput: 'attn_output',
  attentionNorm: 'attn_output_norm',
  up: 'ffn_up',
  down: 'ffn_down',
  outputNorm: 'layer_output_norm',
};

const HUGGING_FACE_MODEL: Readonly<Record<BertModelRole, string>> = {
  tokens: 'embeddings.word_embeddings',
  positions: 'embeddings.position_embeddings',
  tokenTypes: 'embeddings.token_type_embeddings',
  embeddingNorm: 'embeddings.LayerNorm',
};

const HUGGING_FACE_LAYER: Readonly<Record<BertLayerRole, string>> = {
  query: 'attention.self.query',
  key: 'attention.self.key',
  value: 'attention.self.value',
  attentionOutput: 'attention.output.dense',
  attentionNorm: 'attention.output.LayerNorm',
  up: 'intermediate.dense',
  down: 'output.dense',
  outputNorm: 'output.LayerNorm',
};

/** llama.cpp's GGUF names (`token_embd`, `blk.N.attn_output_norm`, …). */
export const BERT_GGUF_NAMING: BertNaming = Object.freeze({
  model: (role: BertModelRole) => GGUF_MODEL[role],
  layer: (index: number, role: BertLayerRole) => `blk.${index}.${GGUF_LAYER[role]}`,
});

/**
 * Hugging Face names (`embeddings.word_embeddings`, `encoder.layer.N.attention.self.query`), under `prefix`: empty for a
 * bare `BertModel` (sentence-transformers), `bert.` inside task models such as `BertForMaskedLM`.
 */
export function bertHuggingFaceNaming(prefix: string): BertNaming {
  return Object.freeze({
    model: (role: BertModelRole) => `${prefix}${HUGGING_FACE_MODEL[role]}`,
    layer: (index: number, role: BertLayerRole) => `${prefix}encoder.layer.${index}.${HUGGING_FACE_LAYER[role]}`,
  });
}
