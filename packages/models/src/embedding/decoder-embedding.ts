import { type Backend, StrataError, type Tensor } from '@strata/core';
import type { ModelFiles } from '@strata/loaders';
import { type Block, type SequenceBlock, TokenEmbedding } from '@strata/primitives';
import { resolveModel } from '../builder/load-model.js';
import { loadTransformerLayers } from '../builder/layer-loader.js';
import { RoleWeights } from '../builder/role-weights.js';
import { RopeTables } from '../builder/rope-tables.js';
import type { TransformerConfig } from '../config/transformer-config.js';
import type { FamilyRegistry } from '../registry/family-registry.js';
import { WeightSource } from '../weights/weight-source.js';

/** A decoder (causal LM) loaded for embeddings: embedding, every layer and the final norm, no LM head. */
export interface DecoderEncoder {
  /** The normalized config. */
  readonly config: TransformerConfig;
  /** Last hidden states (after the final norm) of a position-major padded batch, causal attention kept. */
  encode(ids: Tensor, lengths: readonly number[]): Tensor;
  /** Releases every weight. */
  dispose(): void;
}

function isSequenceBlock(block: Block): block is Block & SequenceBlock {
  return typeof (block as Partial<SequenceBlock>).forwardSequences === 'function';
}

/**
 * Loads a decoder family of `registry` (Qwen3, Llama, …) as an encoder for embedding models such as Qwen3-Embedding:
 * the same layers as for generation, run over whole padded sequences with the causal mask, then the final norm.
 */
export async function loadDecoderEncoder(
  registry: FamilyRegistry,
  files: ModelFiles,
  backend: Backend,
): Promise<DecoderEncoder> {
  const { family, config, naming } = resolveModel(files, registry);
  const weights = new WeightSource(files.tensors, backend);
  try {
    const roles = new RoleWeights(config, weights, naming);
    const factorsName = roles.modelName('ropeFrequencies');
    const frequencyFactors =
      factorsName !== undefined && weights.has(factorsName) ? Array.from(await weights.floats(factorsName)) : undefined;
    const rope = new RopeTables(config, naming, frequencyFactors === undefined ? {} : { frequencyFactors });
    const table = await weights.tensor(roles.modelName('tokenEmbedding') as string, [
      config.vocabularySize,
      config.hiddenSize,
    ]);
    const embedding = new TokenEmbedding(table, config.embeddingScale);
    const blocks = await loadTransformerLayers(config, weights, naming, {
      rope,
      ...(family.customize === undefined ? {} : { customize: family.customize }),
    });
    const sequenceBlocks = blocks.filter(isSequenceBlock);
    if (sequenceBlocks.length !== blocks.length) {
      throw new StrataError(
        'UNKNOWN_ARCHITECTURE',
        `${files.name}: the ${family.name} family's layers cannot run whole sequences, so it gives no embeddings; generate with it through TextPipeline (loadTextPipeline) instead.`,
        { details: { family: family.name } },
      );
    }
    const outputNorm = await roles.modelNorm('outputNorm', config.hiddenSize);
    return Object.freeze({
      config,
      encode(ids: Tensor, lengths: readonly number[]): Tensor {
        let hidden = embedding.forward(backend, ids);
        for (const block of sequenceBlocks) {
          const next = block.forwardSequences(hidden, { backend, lengths });
          backend.dispose(hidden);
          hidden = next;
        }
        const normed = outputNorm.forward(backend, hidden);
        backend.dispose(hidden);
        return normed;
      },
      dispose: () => weights.dispose(),
    });
  } catch (error) {
    weights.dispose();
    throw error;
  }
}
