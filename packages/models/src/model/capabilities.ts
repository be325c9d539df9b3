import type { Backend, KeyValueCache, PagedBatch, PagedKeyValueCache, Tensor } from '@strata/core';

/** A half-open range of layer indices `[start, end)`. */
export interface LayerRange {
  /** First layer (inclusive). */
  readonly start: number;
  /** Last layer (exclusive). */
  readonly end: number;
}

/** What the KV cache of one attention layer must hold; the pipeline sizes and allocates caches from it. */
export interface LayerCacheSpec {
  /** Columns of the key and value rows: keyValueHeads · headDimensions. */
  readonly keyValueWidth: number;
  /** Size of one head: a q8_0 cache needs a multiple of 32 (its blocks must not straddle two heads). */
  readonly headDimensions: number;
  /** Sliding window of this layer, or undefined for full attention (a ring buffer suffices when set). */
  readonly window?: number;
}

/** Runtime state a forward step is handed. Models own none of it (ARCHITECTURE.md, principle 1). */
export interface ForwardContext {
  /** The backend every op runs on (the one the weights were uploaded to). */
  readonly backend: Backend;
  /** Position of the first row of the hidden states. */
  readonly firstPosition: number;
  /** One cache per layer of the model's range, indexed from the range's start. */
  readonly caches: readonly KeyValueCache[];
}

/** A stack of transformer layers over a layer range: hidden states in, hidden states out. */
export interface TransformerModel {
  /** Width of the hidden states. */
  readonly hiddenSize: number;
  /** Total layers of the full model, and the range this instance holds. */
  readonly layerCount: number;
  /** Layers this instance computes. */
  readonly layerRange: LayerRange;
  /** Cache geometry for each layer of the range, in order. */
  readonly cacheSpecs: readonly LayerCacheSpec[];
  /** Runs the layers on `hidden` `[rows, hiddenSize]`, reading and writing `context.caches`. */
  transform(hidden: Tensor, context: ForwardContext): Tensor;
}

/**
 * Runtime state of a paged step over several sequences: the step's rows (sequences, positions, page tables) and one
 * paged pool per layer. The pipeline owns the pools and the page tables; models only read and write them.
 */
export interface PagedForwardContext {
  /** The backend every op runs on (the one the weights were uploaded to). */
  readonly backend: Backend;
  /**
   * The rows of the step, one batch per layer of the range (indexed like `caches`): every batch has the same rows at
   * the same positions (each sequence's rows consecutive, at consecutive positions); only the page tables may differ.
   * Layers whose pools share page ids pass the same batch, so a pipeline whose windowed layers keep pages of their own
   * (given back once they fall out of the window) hands those layers a batch of their own page tables.
   */
  readonly batches: readonly PagedBatch[];
  /** One paged pool per layer of the model's range, indexed from the range's start; each read through its batch. */
  readonly caches: readonly PagedKeyValueCache[];
}

/**
 * A transformer that can run the rows of several sequences in one forward over paged KV pools (continuous batching):
 * every weight is one mat-mul over all the rows; only the cache write and the attention go through each row's page
 * table. Every model built by the transformer builder offers it.
 */
export interface PagedTransformerModel extends TransformerModel {
  /** Runs the layers on `hidden` `[rows, hiddenSize]` (the batch's rows), reading and writing `context.caches`. */
  transformPaged(hidden: Tensor, context: PagedForwardContext): Tensor;
}

/** Whether `model` offers {@link PagedTransformerModel.transformPaged}. */
export function supportsPagedForward<M extends TransformerModel>(model: M): model is M & PagedTransformerModel {
  return typeof (model as Partial<PagedTransformerModel>).transformPaged === 'function';
}

/** A model that turns token ids into hidden states (it holds the first layer). */
export interface EmbeddingModel {
  /** Vocabulary size of the embedding table. */
  readonly vocabularySize: number;
  /** Hidden states `[rows, hiddenSize]` for i32 ids `[rows]` (any embedding scale applied). */
  embed(ids: Tensor): Tensor;
}

/** A transformer that holds the last layer and so can produce logits. */
export interface LanguageModel extends TransformerModel {
  /** Vocabulary size of the output. */
  readonly vocabularySize: number;
  /** Final norm, output projection and any final softcap: logits `[rows, vocabulary]`. */
  lmHead(hidden: Tensor): Tensor;
}

/** A whole model: embedding, every layer and the head. */
export type CompleteModel = EmbeddingModel & LanguageModel;

/** How an embedding model turns a sequence's hidden states into one vector (see `PoolingMode` of primitives). */
export type EmbeddingPooling = 'mean' | 'cls' | 'last';

/**
 * A model that turns texts into vectors (sentence embeddings): embed → every layer → hidden states, no LM head. The
 * pooling and normalization it was trained with come from its files (sentence-transformers folders, GGUF metadata).
 */
export interface TextEmbeddingModel {
  /** Width of the hidden states and of the vectors. */
  readonly hiddenSize: number;
  /** Vocabulary size of the embedding table (ids must be below it). */
  readonly vocabularySize: number;
  /** The most tokens one sequence may hold (special tokens included). */
  readonly maximumLength: number;
  /** The model's pooling. */
  readonly pooling: EmbeddingPooling;
  /** Whether the model's vectors are L2-normalized. */
  readonly normalize: boolean;
  /**
   * Last hidden states `[rows, hiddenSize]` of a position-major padded batch of i32 ids `[rows]` (row p · sequences + s
   * is token p of sequence s; `lengths[s]` real tokens, the rest padding).
   */
  encode(ids: Tensor, lengths: readonly number[]): Tensor;
  /** Releases every weight; the model must not be used afterwards. */
  dispose(): void;
}
