import type { GgufMetadata } from '@strata/loaders';
import type { RopeScaling } from '@strata/primitives';
import { checkGeometry, invalidConfig, requirePositiveInteger, requirePositiveNumber } from './config-values.js';
import type { FamilyConfigDefaults } from './family-defaults.js';
import type { ExpertsConfig, TransformerConfig } from './transformer-config.js';

const SOURCE = 'GGUF metadata';

/** A number, or the first element of a per-layer array whose elements all agree (INVALID_CONFIG otherwise). */
function uniformNumber(metadata: GgufMetadata, key: string): number | undefined {
  const entry = metadata.entry(key);
  if (entry === undefined) return undefined;
  if (entry.type !== 'array') return metadata.get(key, 'number');
  const values = Array.from(metadata.get(key, 'numberArray') as ArrayLike<number>);
  const first = values[0];
  if (first === undefined || values.some((value) => value !== first)) {
    throw invalidConfig(
      SOURCE,
      `'${key}' varies per layer (${values.join(', ')}); per-layer sizes are not supported yet.`,
      { key },
    );
  }
  return first;
}

function vocabularySize(metadata: GgufMetadata, prefix: string, embeddingRows: number | undefined): number | undefined {
  const declared = metadata.find(`${prefix}.vocab_size`, 'integer');
  if (declared !== undefined) return declared;
  if (embeddingRows !== undefined) return embeddingRows;
  const tokens = metadata.entry('tokenizer.ggml.tokens');
  return tokens?.type === 'array' ? tokens.value.values.length : undefined;
}

function parseScaling(metadata: GgufMetadata, prefix: string, contextLength: number): RopeScaling {
  const type = metadata.findString(`${prefix}.rope.scaling.type`) ?? 'none';
  const factor = metadata.find(`${prefix}.rope.scaling.factor`, 'number');
  switch (type) {
    case 'none':
      return { kind: 'default' };
    case 'linear':
      return { kind: 'linear', factor: requirePositiveNumber(SOURCE, `${prefix}.rope.scaling.factor`, factor) };
    case 'yarn': {
      const attentionFactor = metadata.find(`${prefix}.rope.scaling.attn_factor`, 'number');
      const betaFast = metadata.find(`${prefix}.rope.scaling.yarn_beta_fast`, 'number');
      const betaSlow = metadata.find(`${prefix}.rope.scaling.yarn_beta_slow`, 'number');
      return {
        kind: 'yarn',
        factor: requirePositiveNumber(SOURCE, `${prefix}.rope.scaling.factor`, factor),
        originalContextLength: requirePositiveInteger(
          SOURCE,
          `${prefix}.rope.scaling.original_context_length`,
          metadata.find(`${prefix}.rope.scaling.original_context_length`, 'integer') ?? contextLength,
        ),
        ...(attentionFactor === undefined
          ? {}
          : { attentionFactor: attentionFactor * (1 + 0.1 * Math.log(factor ?? 1)) }),
        ...(betaFast === undefined ? {} : { betaFast }),
        ...(betaSlow === undefined ? {} : { betaSlow }),
      };
    }
    default:
      throw invalidConfig(SOURCE, `rope scaling '${type}' is not supported (supported: none, linear, yarn).`, { type });
  }
}

function parseExperts(
  metadata: GgufMetadata,
  prefix: string,
  defaults: FamilyConfigDefaults,
  feedForwardSize: number,
): ExpertsConfig | undefined {
  const count = metadata.find(`${prefix}.expert_count`, 'integer');
  if (count === undefined || count === 0) return undefined;
  return {
    count,
    perToken: requirePositiveInteger(
      SOURCE,
      `${prefix}.expert_used_count`,
      metadata.find(`${prefix}.expert_used_count`, 'integer'),
    ),
    feedForwardSize: metadata.find(`${prefix}.expert_feed_forward_length`, 'integer') ?? feedForwardSize,
    normalize: metadata.findBool(`${prefix}.expert_weights_norm`) ?? defaults.normalizeExperts,
  };
}

/** Facts of the file's tensors that complete its metadata. */
export interface GgufConfigHints {
  /** Rows of `token_embd.weight`: the vocabulary when `<arch>.vocab_size` is absent (before the tokenizer's token count). */
  readonly embeddingRows?: number;
}

/**
 * Parses the `<architecture>.*` keys of a GGUF file into a {@link TransformerConfig}, every default resolved as
 * llama.cpp resolves it. Missing or contradictory keys raise `INVALID_CONFIG`.
 */
export function parseGgufConfig(
  metadata: GgufMetadata,
  defaults: FamilyConfigDefaults,
  hints: GgufConfigHints = {},
): TransformerConfig {
  const architecture = metadata.findString('general.architecture');
  if (architecture === undefined) throw invalidConfig(SOURCE, `'general.architecture' is missing.`);
  const prefix = architecture;
  const integer = (key: string) => metadata.find(`${prefix}.${key}`, 'integer');
  const hiddenSize = requirePositiveInteger(SOURCE, `${prefix}.embedding_length`, integer('embedding_length'));
  const layerCount = requirePositiveInteger(SOURCE, `${prefix}.block_count`, integer('block_count'));
  const heads = requirePositiveInteger(
    SOURCE,
    `${prefix}.attention.head_count`,
    uniformNumber(metadata, `${prefix}.attention.head_count`),
  );
  const keyValueHeads = requirePositiveInteger(
    SOURCE,
    `${prefix}.attention.head_count_kv`,
    uniformNumber(metadata, `${prefix}.attention.head_count_kv`) ?? heads,
  );
  const headDimensions = requirePositiveInteger(
    SOURCE,
    `${prefix}.attention.key_length`,
    integer('attention.key_length') ?? hiddenSize / heads,
  );
  const valueLength = integer('attention.value_length');
  if (valueLength !== undefined && valueLength !== headDimensions) {
    throw invalidConfig(
      SOURCE,
      `value heads of ${valueLength} differ from key heads of ${headDimensions}; not supported.`,
      { valueLength, headDimensions },
    );
  }
  const feedForwardSize = requirePositiveInteger(
    SOURCE,
    `${prefix}.feed_forward_length`,
    uniformNumber(metadata, `${prefix}.feed_forward_length`),
  );
  const epsilonKey =
    defaults.structure.norm === 'rms' ? 'attention.layer_norm_rms_epsilon' : 'attention.layer_norm_epsilon';
  const normEpsilon = requirePositiveNumber(
    SOURCE,
    `${prefix}.${epsilonKey}`,
    metadata.find(`${prefix}.${epsilonKey}`, 'number'),
  );
  const rotaryDimensions = integer('rope.dimension_count') ?? headDimensions;
  checkGeometry(SOURCE, { hiddenSize, heads, keyValueHeads, headDimensions, rotaryDimensions, layerCount });
  const contextLength = integer('context_length') ?? 2048;
  const window = integer('attention.sliding_window');
  const isSliding = defaults.isSlidingLayer ?? (() => true);
  const localBase = metadata.find(`${prefix}.rope.freq_base_swa`, 'number');
  const originalContextLength = integer('rope.scaling.original_context_length');
  return Object.freeze({
    family: defaults.family,
    architecture,
    hiddenSize,
    layerCount,
    vocabularySize: requirePositiveInteger(
      SOURCE,
      `${prefix}.vocab_size`,
      vocabularySize(metadata, prefix, hints.embeddingRows),
    ),
    heads,
    keyValueHeads,
    headDimensions,
    feedForwardSize,
    normEpsilon,
    contextLength,
    activation: defaults.activation,
    rope: {
      base: requirePositiveNumber(
        SOURCE,
        `${prefix}.rope.freq_base`,
        metadata.find(`${prefix}.rope.freq_base`, 'number') ?? 10000,
      ),
      localBase: localBase ?? defaults.localRopeBase,
      localScaling:
        localBase !== undefined || defaults.localRopeBase !== undefined ? ({ kind: 'default' } as const) : undefined,
      rotaryDimensions,
      scaling: parseScaling(metadata, prefix, contextLength),
      ...(originalContextLength === undefined ? {} : { originalContextLength }),
    },
    layerWindows: Object.freeze(
      Array.from({ length: layerCount }, (_, layer) =>
        window !== undefined && window > 0 && isSliding(layer) ? window : undefined,
      ),
    ),
    experts: parseExperts(metadata, prefix, defaults, feedForwardSize),
    tiedEmbeddings: false,
    attentionScale:
      1 / Math.sqrt(defaults.queryScalar?.({ hiddenSize, heads, headDimensions, layerCount }) ?? headDimensions),
    attentionSoftcap: metadata.find(`${prefix}.attn_logit_softcapping`, 'number'),
    finalSoftcap: metadata.find(`${prefix}.final_logit_softcapping`, 'number'),
    embeddingScale: defaults.structure.scaleEmbeddings ? Math.sqrt(hiddenSize) : 1,
    structure: defaults.structure,
  });
}
