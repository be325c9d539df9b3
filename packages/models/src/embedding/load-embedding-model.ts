import { type Backend, StrataError } from '@strata/core';
import type { ModelFiles } from '@strata/loaders';
import { loadBertEncoder } from '../bert/load-bert.js';
import type { EmbeddingPooling, TextEmbeddingModel } from '../model/capabilities.js';
import { DEFAULT_REGISTRY } from '../registry/default-registry.js';
import type { FamilyRegistry } from '../registry/family-registry.js';
import { loadDecoderEncoder } from './decoder-embedding.js';
import { readSentenceTransformersSettings, type SentenceTransformersSettings } from './sentence-transformers.js';

/** Options of {@link loadEmbeddingModel}. */
export interface LoadEmbeddingModelOptions {
  /** Decoder families to choose from (for decoder-based embedding models); default every shipped family. */
  readonly registry?: FamilyRegistry;
  /** Replaces the pooling the files name (or the default: mean for encoders, last token for decoders). */
  readonly pooling?: EmbeddingPooling;
  /** Replaces whether vectors are normalized (default: the files' Normalize module; GGUF: true, as llama.cpp does). */
  readonly normalize?: boolean;
  /** Tokens per text at most (default: sentence-transformers' limit, else the model's positions; never above those). */
  readonly maximumLength?: number;
}

/** GGUF architectures and Hugging Face model types loaded as BERT encoders. */
const BERT_ARCHITECTURES = new Set(['bert']);

function architectureOf(files: ModelFiles): string | undefined {
  if (files.format === 'gguf') return files.architecture;
  const modelType = files.config.model_type;
  return typeof modelType === 'string' ? modelType : undefined;
}

/**
 * Loads an embedding model: a BERT encoder (GGUF `bert`, Hugging Face `bert`, sentence-transformers folders) or a
 * decoder family of the registry used with last-token pooling (Qwen3-Embedding). Pooling, normalization and the
 * maximum length come from the files (sentence-transformers `modules.json`, `1_Pooling/config.json`,
 * `sentence_bert_config.json`; GGUF `bert.pooling_type`), replaced by the options where given.
 */
export async function loadEmbeddingModel(
  files: ModelFiles,
  backend: Backend,
  options: LoadEmbeddingModelOptions = {},
): Promise<TextEmbeddingModel> {
  const limit = options.maximumLength;
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new StrataError('INVALID_ARGUMENT', `maximumLength must be a positive integer; got ${limit}.`);
  }
  const settings: SentenceTransformersSettings =
    files.format === 'huggingface' ? await readSentenceTransformersSettings(files.huggingface.directory) : {};
  const architecture = architectureOf(files);
  if (architecture !== undefined && BERT_ARCHITECTURES.has(architecture)) {
    const encoder = await loadBertEncoder(files, backend);
    const { config } = encoder;
    return Object.freeze({
      hiddenSize: config.hiddenSize,
      vocabularySize: encoder.vocabularySize,
      maximumLength: Math.min(
        options.maximumLength ?? settings.maximumLength ?? config.contextLength,
        config.contextLength,
      ),
      pooling: options.pooling ?? settings.pooling ?? config.pooling ?? 'mean',
      normalize: options.normalize ?? settings.normalize ?? files.format === 'gguf',
      encode: encoder.encode,
      dispose: encoder.dispose,
    });
  }
  if (architecture === undefined) {
    throw new StrataError('UNKNOWN_ARCHITECTURE', `${files.name} names no architecture; it is not a model.`);
  }
  const decoder = await loadDecoderEncoder(options.registry ?? DEFAULT_REGISTRY, files, backend);
  const { config } = decoder;
  return Object.freeze({
    hiddenSize: config.hiddenSize,
    vocabularySize: config.vocabularySize,
    maximumLength: Math.min(
      options.maximumLength ?? settings.maximumLength ?? config.contextLength,
      config.contextLength,
    ),
    pooling: options.pooling ?? settings.pooling ?? 'last',
    normalize: options.normalize ?? settings.normalize ?? true,
    encode: decoder.encode,
    dispose: decoder.dispose,
  });
}

/** True when files hold an encoder-only architecture (no LM head: generation is impossible). */
export function isEncoderOnly(files: ModelFiles): boolean {
  const architecture = architectureOf(files);
  return architecture !== undefined && BERT_ARCHITECTURES.has(architecture);
}
