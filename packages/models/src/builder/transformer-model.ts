import { type Backend, StrataError, type Tensor } from '@strata/core';
import type { Block, LanguageModelHead, TokenEmbedding } from '@strata/primitives';
import type { TransformerConfig } from '../config/transformer-config.js';
import type {
  EmbeddingModel,
  ForwardContext,
  LanguageModel,
  LayerCacheSpec,
  LayerRange,
  PagedForwardContext,
  PagedTransformerModel,
} from '../model/capabilities.js';

/** What every loaded transformer offers besides its capabilities (the paged forward of a batch of sequences included). */
export interface LoadedTransformer extends PagedTransformerModel {
  /** Which part of the model this is: decides whether `embed` and `lmHead` exist. */
  readonly part: 'complete' | 'first' | 'middle' | 'last';
  /** The normalized config the model was built from. */
  readonly config: TransformerConfig;
  /** The backend holding the weights. */
  readonly backend: Backend;
  /** Releases every weight. The model must not be used afterwards. */
  dispose(): void;
}

/** The whole model: embedding, all layers, head. */
export interface CompleteTransformer extends LoadedTransformer, EmbeddingModel, LanguageModel {
  /** Discriminant: this model holds every layer, `embed` and `lmHead`. */
  readonly part: 'complete';
}

/** A first pipeline stage: embedding and layers [0, end), no head. */
export interface FirstTransformerPart extends LoadedTransformer, EmbeddingModel {
  /** Discriminant: holds `embed` but no `lmHead`. */
  readonly part: 'first';
}

/** A middle stage: layers only. */
export interface MiddleTransformerPart extends LoadedTransformer {
  /** Discriminant: neither `embed` nor `lmHead`. */
  readonly part: 'middle';
}

/** A last stage: layers [start, layerCount) and the head, no embedding. */
export interface LastTransformerPart extends LoadedTransformer, LanguageModel {
  /** Discriminant: holds `lmHead` but no `embed`. */
  readonly part: 'last';
}

/** Any part of a model; switch on `part` to reach `embed` or `lmHead`. */
export type TransformerPart = CompleteTransformer | FirstTransformerPart | MiddleTransformerPart | LastTransformerPart;

/** The pieces {@link assembleTransformer} joins. */
export interface TransformerPieces {
  /** The config. */
  readonly config: TransformerConfig;
  /** The backend the weights live on. */
  readonly backend: Backend;
  /** The layer range. */
  readonly layerRange: LayerRange;
  /** One block per layer of the range. */
  readonly blocks: readonly Block[];
  /** The embedding when the range starts at 0. */
  readonly embedding: TokenEmbedding | undefined;
  /** The head when the range ends at the last layer. */
  readonly head: LanguageModelHead | undefined;
  /** Releases every weight. */
  readonly dispose: () => void;
}

/** Runs blocks over hidden states, checking the caches it is handed (one per layer, contiguous or paged). */
function transformWith(
  blocks: readonly Block[],
  hidden: Tensor,
  context: ForwardContext | PagedForwardContext,
): Tensor {
  if (context.caches.length !== blocks.length) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `The model holds ${blocks.length} layers but ${context.caches.length} caches were passed; pass one per layer of the range.`,
      {
        details: { layers: blocks.length, caches: context.caches.length },
      },
    );
  }
  if ('batches' in context && context.batches.length !== blocks.length) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `The model holds ${blocks.length} layers but ${context.batches.length} paged batches were passed; pass one per layer of the range.`,
      { details: { layers: blocks.length, batches: context.batches.length } },
    );
  }
  let current = hidden;
  blocks.forEach((block, index) => {
    const next = block.forward(
      current,
      'batches' in context
        ? { backend: context.backend, batch: context.batches[index]!, cache: context.caches[index]! }
        : { backend: context.backend, firstPosition: context.firstPosition, cache: context.caches[index]! },
    );
    if (current !== hidden) context.backend.dispose(current);
    current = next;
  });
  return current;
}

/** Joins loaded pieces into the part of the model they make up (its type says whether it embeds and has a head). */
export function assembleTransformer(pieces: TransformerPieces): TransformerPart {
  const { config, backend, layerRange, blocks, embedding, head } = pieces;
  const cacheSpecs: readonly LayerCacheSpec[] = Object.freeze(blocks.map((block) => block.cacheSpec));
  const base = {
    config,
    backend,
    hiddenSize: config.hiddenSize,
    layerCount: config.layerCount,
    layerRange,
    cacheSpecs,
    transform: (hidden: Tensor, context: ForwardContext) => transformWith(blocks, hidden, context),
    transformPaged: (hidden: Tensor, context: PagedForwardContext) => transformWith(blocks, hidden, context),
    dispose: pieces.dispose,
  };
  const embedPart =
    embedding === undefined
      ? undefined
      : { vocabularySize: embedding.vocabularySize, embed: (ids: Tensor) => embedding.forward(backend, ids) };
  const headPart =
    head === undefined
      ? undefined
      : { vocabularySize: head.vocabularySize, lmHead: (hidden: Tensor) => head.forward(backend, hidden) };
  if (embedPart !== undefined && headPart !== undefined)
    return Object.freeze({ ...base, ...embedPart, ...headPart, part: 'complete' as const });
  if (embedPart !== undefined) return Object.freeze({ ...base, ...embedPart, part: 'first' as const });
  if (headPart !== undefined) return Object.freeze({ ...base, ...headPart, part: 'last' as const });
  return Object.freeze({ ...base, part: 'middle' as const });
}
