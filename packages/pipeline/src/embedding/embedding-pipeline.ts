import { type Backend, StrataError, type Tensor } from '@strata/core';
import { type Tokenizer, tokenizerFromModel } from '@strata/loaders';
import {
  type EmbeddingPooling,
  type FamilyRegistry,
  loadEmbeddingModel,
  type TextEmbeddingModel,
} from '@strata/models';
import { L2Normalization, Pooling } from '@strata/primitives';
import { type ModelSource, openSource } from '../load/load-text-pipeline.js';
import { tokenizeForEmbedding } from './truncation.js';

/** Options of {@link EmbeddingPipeline.load}. */
export interface LoadEmbeddingPipelineOptions {
  /** Where the weights go and every op runs. */
  readonly backend: Backend;
  /** Decoder families to choose from (decoder-based embedding models); default every shipped family. */
  readonly registry?: FamilyRegistry;
  /** Replaces the model's pooling (default: what its files say). */
  readonly pooling?: EmbeddingPooling;
  /** Replaces whether the model's vectors are normalized (default: what its files say). */
  readonly normalize?: boolean;
  /** Tokens per text at most (default: what its files say, else the model's positions). */
  readonly maximumLength?: number;
}

/** Options of {@link EmbeddingPipeline.embed}. */
export interface EmbedOptions {
  /** L2-normalize each vector (default: the model's setting). */
  readonly normalize?: boolean;
  /** How a text's hidden states become one vector (default: the model's pooling). */
  readonly pooling?: EmbeddingPooling;
  /** Cut texts longer than the model's maximum (keeping special tokens); default false: such a text is an error. */
  readonly truncate?: boolean;
  /** Texts per padded batch (default 32). */
  readonly batchSize?: number;
}

/** The parts of an {@link EmbeddingPipeline}. */
export interface EmbeddingPipelineParts {
  /** The model. */
  readonly model: TextEmbeddingModel;
  /** Its tokenizer. */
  readonly tokenizer: Tokenizer;
  /** The backend holding its weights. */
  readonly backend: Backend;
}

const DEFAULT_BATCH_SIZE = 32;

/**
 * Texts → vectors (sentence embeddings) with an encoder (BERT) or a decoder embedding model (Qwen3-Embedding, with
 * the instruction prefix written by the caller into the text). Texts run in padded batches with a padding mask; every
 * vector equals the one its text gives alone.
 *
 * @example
 * const pipeline = await EmbeddingPipeline.load('models/bge-small', { backend: createCpuBackend() });
 * const [query, passage] = await pipeline.embed(['what is strata?', 'strata runs models on WebGPU']);
 */
export class EmbeddingPipeline {
  readonly #parts: EmbeddingPipelineParts;

  private constructor(parts: EmbeddingPipelineParts) {
    this.#parts = parts;
  }

  /** Opens and loads an embedding model with its tokenizer onto `options.backend`. */
  static async load(source: ModelSource, options: LoadEmbeddingPipelineOptions): Promise<EmbeddingPipeline> {
    const files = await openSource(source);
    const tokenizer = tokenizerFromModel(files);
    const model = await loadEmbeddingModel(files, options.backend, {
      ...(options.registry === undefined ? {} : { registry: options.registry }),
      ...(options.pooling === undefined ? {} : { pooling: options.pooling }),
      ...(options.normalize === undefined ? {} : { normalize: options.normalize }),
      ...(options.maximumLength === undefined ? {} : { maximumLength: options.maximumLength }),
    });
    return new EmbeddingPipeline({ model, tokenizer, backend: options.backend });
  }

  /** A pipeline over a model and tokenizer loaded by the caller. */
  static fromParts(parts: EmbeddingPipelineParts): EmbeddingPipeline {
    return new EmbeddingPipeline(parts);
  }

  /** The model. */
  get model(): TextEmbeddingModel {
    return this.#parts.model;
  }

  /** The tokenizer. */
  get tokenizer(): Tokenizer {
    return this.#parts.tokenizer;
  }

  /** Width of the vectors. */
  get dimensions(): number {
    return this.#parts.model.hiddenSize;
  }

  /** The ids a text runs as (special tokens included), cut to the model's maximum when `truncate` is set. */
  tokenize(text: string, truncate = false): number[] {
    return tokenizeForEmbedding(this.#parts.tokenizer, text, truncate ? this.#parts.model.maximumLength : undefined);
  }

  /** One vector per text, in order. */
  async embed(texts: readonly string[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    if (!Array.isArray(texts) || texts.some((text) => typeof text !== 'string')) {
      throw new StrataError('INVALID_ARGUMENT', 'embed takes an array of strings.');
    }
    return this.embedIds(
      texts.map((text) => this.tokenize(text, options.truncate ?? false)),
      options,
    );
  }

  /** One vector per id sequence (special tokens already in place), in order. */
  async embedIds(sequences: readonly (readonly number[])[], options: EmbedOptions = {}): Promise<Float32Array[]> {
    const { model } = this.#parts;
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE;
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new StrataError('INVALID_ARGUMENT', `batchSize must be a positive integer; got ${batchSize}.`);
    }
    const tooLong = sequences.flatMap((ids, index) => (ids.length > model.maximumLength ? [index] : []));
    if (tooLong.length > 0) {
      const lengths = tooLong.map((index) => (sequences[index] as readonly number[]).length);
      throw new StrataError(
        'CONTEXT_OVERFLOW',
        `${tooLong.length} input(s) exceed the model's maximum of ${model.maximumLength} tokens (lengths ${lengths.join(', ')}); shorten them or pass truncate: true.`,
        { details: { indices: tooLong, lengths, maximumLength: model.maximumLength } },
      );
    }
    for (const ids of sequences) {
      if (ids.length === 0) throw new StrataError('INVALID_ARGUMENT', 'Cannot embed an empty token sequence.');
      for (const id of ids) {
        if (!Number.isInteger(id) || id < 0 || id >= model.vocabularySize) {
          throw new StrataError(
            'TOKEN_OUT_OF_RANGE',
            `Token id ${id} is outside the model's vocabulary of ${model.vocabularySize}.`,
            { details: { id, vocabularySize: model.vocabularySize } },
          );
        }
      }
    }
    const vectors: Float32Array[] = [];
    for (let start = 0; start < sequences.length; start += batchSize) {
      vectors.push(...(await this.#embedBatch(sequences.slice(start, start + batchSize), options)));
    }
    return vectors;
  }

  async #embedBatch(sequences: readonly (readonly number[])[], options: EmbedOptions): Promise<Float32Array[]> {
    const { model, backend, tokenizer } = this.#parts;
    const lengths = sequences.map((ids) => ids.length);
    const count = sequences.length;
    const padded = Math.max(...lengths);
    const padding = tokenizer.specialTokens.padding ?? 0;
    const ids = new Int32Array(padded * count).fill(padding);
    sequences.forEach((sequence, index) => {
      sequence.forEach((id, position) => {
        ids[position * count + index] = id;
      });
    });
    const owned: Tensor[] = [];
    const keep = (tensor: Tensor) => {
      owned.push(tensor);
      return tensor;
    };
    try {
      const input = keep(backend.upload(ids, [ids.length]));
      const hidden = keep(model.encode(input, lengths));
      let vectors = keep(new Pooling(options.pooling ?? model.pooling).forward(backend, hidden, lengths));
      if (options.normalize ?? model.normalize) vectors = keep(new L2Normalization().forward(backend, vectors));
      const data = (await backend.read(vectors)) as Float32Array;
      const width = model.hiddenSize;
      return sequences.map((_, index) => data.slice(index * width, (index + 1) * width));
    } finally {
      for (const tensor of owned) backend.dispose(tensor);
    }
  }

  /** Releases the model's weights; the pipeline must not be used afterwards. */
  dispose(): void {
    this.#parts.model.dispose();
  }
}
