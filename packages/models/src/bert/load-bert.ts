import type { Backend, Tensor } from '@strata/core';
import type { ModelFiles } from '@strata/loaders';
import {
  CausalAttention,
  EncoderEmbedding,
  LayerNorm,
  Linear,
  Mlp,
  PostNormBlock,
  TokenEmbedding,
} from '@strata/primitives';
import { WeightSource } from '../weights/weight-source.js';
import { type BertConfig, parseBertConfig } from './bert-config.js';
import { BERT_GGUF_NAMING, type BertNaming, bertHuggingFaceNaming } from './bert-naming.js';

/** A loaded BERT encoder: embeddings and post-norm layers (no pooler, no LM head). */
export interface BertEncoder {
  /** The normalized config. */
  readonly config: BertConfig;
  /** Rows of the token table. */
  readonly vocabularySize: number;
  /** Last hidden states of a position-major padded batch (see `TextEmbeddingModel.encode`). */
  encode(ids: Tensor, lengths: readonly number[]): Tensor;
  /** Releases every weight. */
  dispose(): void;
}

function namingOf(files: ModelFiles, weights: WeightSource): BertNaming {
  if (files.format === 'gguf') return BERT_GGUF_NAMING;
  const bare = bertHuggingFaceNaming('');
  return weights.has(`${bare.model('tokens')}.weight`) ? bare : bertHuggingFaceNaming('bert.');
}

/** Loads a BERT encoder from GGUF (llama.cpp's `bert` names) or a Hugging Face directory onto `backend`. */
export async function loadBertEncoder(files: ModelFiles, backend: Backend): Promise<BertEncoder> {
  const config = parseBertConfig(files);
  const weights = new WeightSource(files.tensors, backend);
  try {
    const naming = namingOf(files, weights);
    const { hiddenSize, heads, feedForwardSize, normEpsilon } = config;
    const headDimensions = hiddenSize / heads;
    const matrix = (name: string, rows: number, columns: number) => weights.tensor(`${name}.weight`, [rows, columns]);
    const vector = async (name: string, length: number) =>
      weights.has(`${name}.bias`) ? weights.vector(`${name}.bias`, length) : undefined;
    const linear = async (name: string, rows: number, columns: number) =>
      new Linear(await matrix(name, rows, columns), await vector(name, rows));
    const layerNorm = async (name: string) =>
      new LayerNorm(await weights.vector(`${name}.weight`, hiddenSize), await vector(name, hiddenSize), normEpsilon);

    const tokenTable = await weights.tensor(`${naming.model('tokens')}.weight`);
    const tokenTypesName = `${naming.model('tokenTypes')}.weight`;
    const embedding = new EncoderEmbedding({
      tokens: new TokenEmbedding(tokenTable),
      positions: await weights.tensor(`${naming.model('positions')}.weight`),
      ...(weights.has(tokenTypesName) ? { tokenTypes: await weights.tensor(tokenTypesName) } : {}),
      norm: await layerNorm(naming.model('embeddingNorm')),
    });
    const blocks: PostNormBlock[] = [];
    for (let index = 0; index < config.layerCount; index++) {
      const name = (role: Parameters<BertNaming['layer']>[1]) => naming.layer(index, role);
      const attention = CausalAttention.create(
        {
          query: await linear(name('query'), hiddenSize, hiddenSize),
          key: await linear(name('key'), hiddenSize, hiddenSize),
          value: await linear(name('value'), hiddenSize, hiddenSize),
          output: await linear(name('attentionOutput'), hiddenSize, hiddenSize),
        },
        { heads, keyValueHeads: heads, headDimensions },
      ).withoutCausalMask();
      blocks.push(
        new PostNormBlock({
          attention,
          attentionNorm: await layerNorm(name('attentionNorm')),
          feedForward: new Mlp(
            await linear(name('up'), feedForwardSize, hiddenSize),
            await linear(name('down'), hiddenSize, feedForwardSize),
            config.activation,
          ),
          feedForwardNorm: await layerNorm(name('outputNorm')),
        }),
      );
    }
    return Object.freeze({
      config: Object.freeze({ ...config, contextLength: Math.min(config.contextLength, embedding.maximumPositions) }),
      vocabularySize: tokenTable.shape[0] as number,
      encode(ids: Tensor, lengths: readonly number[]): Tensor {
        let hidden = embedding.forward(backend, ids, lengths.length);
        for (const block of blocks) {
          const next = block.forwardSequences(hidden, { backend, lengths });
          backend.dispose(hidden);
          hidden = next;
        }
        return hidden;
      },
      dispose: () => weights.dispose(),
    });
  } catch (error) {
    weights.dispose();
    throw error;
  }
}
