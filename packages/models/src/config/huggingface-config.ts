import type { ActivationKind } from '@strata/core';
import type { RopeScaling } from '@strata/primitives';
import { checkGeometry, invalidConfig, requirePositiveInteger, requirePositiveNumber } from './config-values.js';
import type { FamilyConfigDefaults } from './family-defaults.js';
import type { ExpertsConfig, TransformerConfig } from './transformer-config.js';

type Json = Record<string, unknown>;

const SOURCE = 'config.json';

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads a key that may be absent or null; INVALID_CONFIG when present with another type. */
function numberKey(raw: Json, ...keys: string[]): number | undefined {
  for (const key of keys) {
    const value = raw[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'number')
      throw invalidConfig(SOURCE, `'${key}' must be a number; got ${JSON.stringify(value)}.`, { key });
    return value;
  }
  return undefined;
}

function booleanKey(raw: Json, key: string): boolean | undefined {
  const value = raw[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean')
    throw invalidConfig(SOURCE, `'${key}' must be true or false; got ${JSON.stringify(value)}.`, { key });
  return value;
}

function stringKey(raw: Json, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const value = raw[key];
    if (value === undefined || value === null) continue;
    if (typeof value !== 'string')
      throw invalidConfig(SOURCE, `'${key}' must be a string; got ${JSON.stringify(value)}.`, { key });
    return value;
  }
  return undefined;
}

function numberList(raw: Json, key: string): number[] {
  const value = raw[key];
  if (!Array.isArray(value) || value.some((item) => typeof item !== 'number')) {
    throw invalidConfig(SOURCE, `'${key}' must be a list of numbers.`, { key });
  }
  return value as number[];
}

/** Hugging Face `hidden_act` names → backend activations. */
const ACTIVATIONS: Readonly<Record<string, ActivationKind>> = {
  silu: 'silu',
  swish: 'silu',
  gelu: 'gelu-erf',
  gelu_new: 'gelu-tanh',
  gelu_fast: 'gelu-tanh',
  gelu_pytorch_tanh: 'gelu-tanh',
  relu: 'relu',
};

function parseActivation(raw: Json, fallback: ActivationKind): ActivationKind {
  const name = stringKey(raw, 'hidden_activation', 'hidden_act', 'activation_function');
  if (name === undefined) return fallback;
  const activation = ACTIVATIONS[name];
  if (activation === undefined) {
    throw invalidConfig(
      SOURCE,
      `activation '${name}' is not supported; supported: ${Object.keys(ACTIVATIONS).join(', ')}.`,
      { activation: name },
    );
  }
  return activation;
}

interface ParsedRope {
  readonly base: number;
  readonly scaling: RopeScaling;
  readonly partialRotaryFactor: number | undefined;
}

/** One RoPE dictionary (v5 `rope_parameters`, or v4 `rope_scaling` with `rope_theta` beside it). */
function parseRopeDictionary(dictionary: Json, top: Json, fallbackBase: number | undefined): ParsedRope {
  const base = numberKey(dictionary, 'rope_theta') ?? fallbackBase ?? 10000;
  const type = stringKey(dictionary, 'rope_type', 'type') ?? 'default';
  const partialRotaryFactor = numberKey(dictionary, 'partial_rotary_factor');
  const contextLength = numberKey(top, 'max_position_embeddings');
  const scaling = ((): RopeScaling => {
    switch (type) {
      case 'default':
        return { kind: 'default' };
      case 'linear':
        return {
          kind: 'linear',
          factor: requirePositiveNumber(SOURCE, 'rope factor', numberKey(dictionary, 'factor')),
        };
      case 'llama3':
        return {
          kind: 'llama3',
          factor: requirePositiveNumber(SOURCE, 'rope factor', numberKey(dictionary, 'factor')),
          lowFrequencyFactor: requirePositiveNumber(
            SOURCE,
            'low_freq_factor',
            numberKey(dictionary, 'low_freq_factor'),
          ),
          highFrequencyFactor: requirePositiveNumber(
            SOURCE,
            'high_freq_factor',
            numberKey(dictionary, 'high_freq_factor'),
          ),
          originalContextLength: requirePositiveInteger(
            SOURCE,
            'original_max_position_embeddings',
            numberKey(dictionary, 'original_max_position_embeddings'),
          ),
        };
      case 'yarn': {
        const original = numberKey(dictionary, 'original_max_position_embeddings') ?? contextLength;
        const explicitFactor = numberKey(dictionary, 'factor');
        const factor =
          explicitFactor ??
          (contextLength !== undefined && original !== undefined ? contextLength / original : undefined);
        const truncate = booleanKey(dictionary, 'truncate');
        const optional = (key: string) => numberKey(dictionary, key);
        return {
          kind: 'yarn',
          factor: requirePositiveNumber(SOURCE, 'rope factor', factor),
          originalContextLength: requirePositiveInteger(SOURCE, 'original_max_position_embeddings', original),
          ...(optional('beta_fast') === undefined ? {} : { betaFast: optional('beta_fast') }),
          ...(optional('beta_slow') === undefined ? {} : { betaSlow: optional('beta_slow') }),
          ...(optional('attention_factor') === undefined ? {} : { attentionFactor: optional('attention_factor') }),
          ...(optional('mscale') === undefined ? {} : { mscale: optional('mscale') }),
          ...(optional('mscale_all_dim') === undefined ? {} : { mscaleAllDimensions: optional('mscale_all_dim') }),
          ...(truncate === undefined ? {} : { truncate }),
        };
      }
      case 'longrope':
      case 'su': {
        const topOriginal =
          numberKey(top, 'original_max_position_embeddings') ??
          numberKey(dictionary, 'original_max_position_embeddings');
        const maximum = requirePositiveInteger(SOURCE, 'max_position_embeddings', contextLength);
        const attentionFactor = numberKey(dictionary, 'attention_factor');
        const common = {
          kind: 'longrope' as const,
          shortFactors: numberList(dictionary, 'short_factor'),
          longFactors: numberList(dictionary, 'long_factor'),
          ...(attentionFactor === undefined ? {} : { attentionFactor }),
        };
        if (topOriginal !== undefined)
          return { ...common, originalContextLength: topOriginal, extendedContextLength: maximum };
        const factor = numberKey(dictionary, 'factor') ?? 1;
        return { ...common, originalContextLength: maximum, extendedContextLength: maximum * factor };
      }
      default:
        throw invalidConfig(
          SOURCE,
          `rope type '${type}' is not supported (supported: default, linear, llama3, yarn, longrope).`,
          { ropeType: type },
        );
    }
  })();
  return { base, scaling, partialRotaryFactor };
}

interface RopeByLayerType {
  readonly global: ParsedRope;
  readonly local: ParsedRope | undefined;
}

function parseRope(raw: Json): RopeByLayerType {
  const parameters = raw.rope_parameters;
  if (isObject(parameters)) {
    const full = parameters.full_attention;
    const sliding = parameters.sliding_attention;
    if (isObject(full) || isObject(sliding)) {
      const global = parseRopeDictionary(isObject(full) ? full : {}, raw, undefined);
      return { global, local: isObject(sliding) ? parseRopeDictionary(sliding, raw, undefined) : undefined };
    }
    return { global: parseRopeDictionary(parameters, raw, numberKey(raw, 'rope_theta')), local: undefined };
  }
  const scaling = raw.rope_scaling;
  const base = numberKey(raw, 'rope_theta');
  const global = parseRopeDictionary(isObject(scaling) ? scaling : {}, raw, base);
  const localBase = numberKey(raw, 'rope_local_base_freq');
  return {
    global,
    local:
      localBase === undefined
        ? undefined
        : { base: localBase, scaling: { kind: 'default' }, partialRotaryFactor: undefined },
  };
}

function parseLayerWindows(
  raw: Json,
  layerCount: number,
  isSliding: ((layer: number) => boolean) | undefined,
): (number | undefined)[] {
  const window = numberKey(raw, 'sliding_window');
  const layerTypes = raw.layer_types;
  if (Array.isArray(layerTypes)) {
    if (layerTypes.length !== layerCount) {
      throw invalidConfig(SOURCE, `'layer_types' has ${layerTypes.length} entries for ${layerCount} layers.`, {
        layerTypes: layerTypes.length,
        layerCount,
      });
    }
    return layerTypes.map((type, layer) => {
      if (type === 'full_attention') return undefined;
      if (type === 'sliding_attention') return requirePositiveInteger(SOURCE, 'sliding_window', window);
      throw invalidConfig(SOURCE, `layer ${layer} has unsupported layer type ${JSON.stringify(type)}.`, {
        layer,
        type,
      });
    });
  }
  if (window === undefined || booleanKey(raw, 'use_sliding_window') === false)
    return new Array(layerCount).fill(undefined);
  const pattern = numberKey(raw, 'sliding_window_pattern', '_sliding_window_pattern');
  requirePositiveInteger(SOURCE, 'sliding_window', window);
  const sliding = (layer: number) =>
    pattern === undefined ? (isSliding?.(layer) ?? true) : (layer + 1) % pattern !== 0;
  return Array.from({ length: layerCount }, (_, layer) => (sliding(layer) ? window : undefined));
}

function parseExperts(raw: Json, defaults: FamilyConfigDefaults, feedForwardSize: number): ExpertsConfig | undefined {
  const count = numberKey(raw, 'num_local_experts', 'num_experts');
  if (count === undefined || count === 0) return undefined;
  const mlpOnly = raw.mlp_only_layers;
  if (Array.isArray(mlpOnly) && mlpOnly.length > 0) {
    throw invalidConfig(SOURCE, `'mlp_only_layers' (dense layers among MoE layers) is not supported yet.`, {
      mlpOnlyLayers: mlpOnly,
    });
  }
  const step = numberKey(raw, 'decoder_sparse_step');
  if (step !== undefined && step !== 1)
    throw invalidConfig(SOURCE, `'decoder_sparse_step' ${step} is not supported yet (only 1).`, { step });
  return {
    count: requirePositiveInteger(SOURCE, 'num_local_experts', count),
    perToken: requirePositiveInteger(SOURCE, 'num_experts_per_tok', numberKey(raw, 'num_experts_per_tok')),
    feedForwardSize: requirePositiveInteger(
      SOURCE,
      'moe_intermediate_size',
      numberKey(raw, 'moe_intermediate_size') ?? feedForwardSize,
    ),
    normalize: booleanKey(raw, 'norm_topk_prob') ?? defaults.normalizeExperts,
  };
}

/**
 * Parses a Hugging Face `config.json` (transformers 4 or 5 layout) into a {@link TransformerConfig}, every default
 * resolved. Missing or contradictory keys raise `INVALID_CONFIG`.
 */
export function parseHuggingFaceConfig(config: unknown, defaults: FamilyConfigDefaults): TransformerConfig {
  if (!isObject(config)) throw invalidConfig(SOURCE, 'the config must be a JSON object.');
  const raw = isObject(config.text_config) ? { ...config, ...config.text_config } : config;
  const architecture = stringKey(raw, 'model_type') ?? defaults.family;
  const hiddenSize = requirePositiveInteger(SOURCE, 'hidden_size', numberKey(raw, 'hidden_size', 'n_embd', 'd_model'));
  const layerCount = requirePositiveInteger(
    SOURCE,
    'num_hidden_layers',
    numberKey(raw, 'num_hidden_layers', 'n_layer'),
  );
  const heads = requirePositiveInteger(SOURCE, 'num_attention_heads', numberKey(raw, 'num_attention_heads', 'n_head'));
  const keyValueHeads = requirePositiveInteger(
    SOURCE,
    'num_key_value_heads',
    numberKey(raw, 'num_key_value_heads') ?? heads,
  );
  const headDimensions = requirePositiveInteger(SOURCE, 'head_dim', numberKey(raw, 'head_dim') ?? hiddenSize / heads);
  const feedForwardSize = requirePositiveInteger(
    SOURCE,
    'intermediate_size',
    numberKey(raw, 'intermediate_size', 'n_inner') ?? 4 * hiddenSize,
  );
  const normEpsilon = requirePositiveNumber(
    SOURCE,
    'rms_norm_eps',
    numberKey(
      raw,
      defaults.structure.norm === 'rms' ? 'rms_norm_eps' : 'layer_norm_eps',
      'rms_norm_eps',
      'layer_norm_eps',
      'layer_norm_epsilon',
      'norm_epsilon',
    ),
  );
  const rope = parseRope(raw);
  const partial = rope.global.partialRotaryFactor ?? numberKey(raw, 'partial_rotary_factor') ?? 1;
  const rotaryDimensions = Math.trunc(headDimensions * partial);
  checkGeometry(SOURCE, { hiddenSize, heads, keyValueHeads, headDimensions, rotaryDimensions, layerCount });
  const queryScalar = numberKey(raw, 'query_pre_attn_scalar');
  return Object.freeze({
    family: defaults.family,
    architecture,
    hiddenSize,
    layerCount,
    vocabularySize: requirePositiveInteger(SOURCE, 'vocab_size', numberKey(raw, 'vocab_size')),
    heads,
    keyValueHeads,
    headDimensions,
    feedForwardSize,
    normEpsilon,
    contextLength: requirePositiveInteger(
      SOURCE,
      'max_position_embeddings',
      numberKey(raw, 'max_position_embeddings', 'n_positions') ?? 2048,
    ),
    activation: parseActivation(raw, defaults.activation),
    rope: {
      base: requirePositiveNumber(SOURCE, 'rope_theta', rope.global.base),
      localBase: rope.local?.base,
      localScaling: rope.local?.scaling,
      rotaryDimensions,
      scaling: rope.global.scaling,
    },
    layerWindows: Object.freeze(parseLayerWindows(raw, layerCount, defaults.isSlidingLayer)),
    experts: parseExperts(raw, defaults, feedForwardSize),
    tiedEmbeddings: booleanKey(raw, 'tie_word_embeddings') ?? false,
    attentionScale: 1 / Math.sqrt(queryScalar ?? headDimensions),
    attentionSoftcap: numberKey(raw, 'attn_logit_softcapping'),
    finalSoftcap: numberKey(raw, 'final_logit_softcapping'),
    embeddingScale: defaults.structure.scaleEmbeddings ? Math.sqrt(hiddenSize) : 1,
    structure: defaults.structure,
  });
}
