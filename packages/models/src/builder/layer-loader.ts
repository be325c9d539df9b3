import { StrataError } from '@strata/core';
import {
  type AttentionProjections,
  type Block,
  CausalAttention,
  type FeedForward,
  GatedMlp,
  MoE,
  Mlp,
  ParallelTransformerBlock,
  TransformerBlock,
} from '@strata/primitives';
import type { TransformerConfig } from '../config/transformer-config.js';
import type { TensorNaming } from '../naming/tensor-naming.js';
import type { WeightSource } from '../weights/weight-source.js';
import type { LayerRange } from '../model/capabilities.js';
import { RoleWeights } from './role-weights.js';
import { RopeTables } from './rope-tables.js';

/** What a customizer sees of the layer it adjusts. */
export interface LayerContext {
  /** Layer index in the full model. */
  readonly layer: number;
  /** The config. */
  readonly config: TransformerConfig;
  /** Role-based weights, to load extra tensors. */
  readonly weights: RoleWeights;
  /** The RoPE tables. */
  readonly rope: RopeTables;
}

/** A family's adjustment of one standard layer: returns the layer to use (built from the standard one's parts). */
export type LayerCustomizer = (block: Block, context: LayerContext) => Block | Promise<Block>;

/** Options of {@link loadTransformerLayers}. */
export interface LoadLayersOptions {
  /** Layers to load; default all. */
  readonly layerRange?: LayerRange;
  /** A family's per-layer adjustment. */
  readonly customize?: LayerCustomizer;
  /** The context length the caller will run (LongRoPE picks its factors from it). */
  readonly contextLength?: number;
  /** Shared RoPE tables (when the caller already built them). */
  readonly rope?: RopeTables;
}

async function loadAttention(
  layer: number,
  config: TransformerConfig,
  weights: RoleWeights,
  rope: RopeTables,
): Promise<CausalAttention> {
  const { hiddenSize, heads, keyValueHeads, headDimensions } = config;
  const queryWidth = heads * headDimensions;
  const keyValueWidth = keyValueHeads * headDimensions;
  let projections: AttentionProjections;
  if (weights.hasLayer('query', layer)) {
    // Q, K and V of one type become one weight of concatenated rows (one mat-vec); V of another type (Q4_K_M) its own.
    const groups = await weights.linearGroups(
      [
        { role: 'query', outputs: queryWidth },
        { role: 'key', outputs: keyValueWidth },
        { role: 'value', outputs: keyValueWidth },
      ],
      layer,
      hiddenSize,
    );
    const output = await weights.linear('attentionOutput', layer, hiddenSize, queryWidth);
    projections =
      groups.length === 1
        ? { queryKeyValue: groups[0]!.linear, output }
        : { groups: groups.map((group) => group.linear), output };
  } else {
    projections = {
      queryKeyValue: await weights.linear('queryKeyValue', layer, queryWidth + 2 * keyValueWidth, hiddenSize),
      output: await weights.linear('attentionOutput', layer, hiddenSize, queryWidth),
    };
  }
  let attention = CausalAttention.create(projections, { heads, keyValueHeads, headDimensions })
    .withScale(config.attentionScale)
    .withRotary(rope.forLayer(layer));
  if (config.structure.queryKeyNorm) {
    attention = attention.withQkNorm(
      await weights.norm('queryNorm', layer, headDimensions),
      await weights.norm('keyNorm', layer, headDimensions),
    );
  }
  const window = config.layerWindows[layer];
  if (window !== undefined) attention = attention.withSlidingWindow(window);
  if (config.attentionSoftcap !== undefined) attention = attention.withSoftcap(config.attentionSoftcap);
  return attention;
}

async function loadFeedForward(layer: number, config: TransformerConfig, weights: RoleWeights): Promise<FeedForward> {
  const { hiddenSize, activation } = config;
  if (config.experts !== undefined) {
    const { count, perToken, feedForwardSize, normalize } = config.experts;
    return new MoE(
      await weights.linear('router', layer, count, hiddenSize),
      {
        gate: await weights.experts('expertGate', layer, feedForwardSize, hiddenSize),
        up: await weights.experts('expertUp', layer, feedForwardSize, hiddenSize),
        down: await weights.experts('expertDown', layer, hiddenSize, feedForwardSize),
      },
      { topK: perToken, normalize, activation },
    );
  }
  const size = config.feedForwardSize;
  const down = await weights.linear('down', layer, hiddenSize, size);
  if (config.structure.feedForward === 'plain')
    return new Mlp(await weights.linear('up', layer, size, hiddenSize), down, activation);
  if (weights.hasLayer('gate', layer)) {
    // Gate and up of one type become one weight [gate; up] (one mat-vec with the activation).
    const [gate, up] = await weights.linearGroups(
      [
        { role: 'gate', outputs: size },
        { role: 'up', outputs: size },
      ],
      layer,
      hiddenSize,
    );
    return new GatedMlp(
      up === undefined ? { gateUp: gate!.linear } : { gate: gate!.linear, up: up.linear },
      down,
      activation,
    );
  }
  return new GatedMlp({ gateUp: await weights.linear('gateUp', layer, 2 * size, hiddenSize) }, down, activation);
}

/** Builds the standard layer `layer` of a config: the structure's block, attention and feed-forward network. */
export async function loadStandardLayer(
  layer: number,
  config: TransformerConfig,
  weights: RoleWeights,
  rope: RopeTables,
): Promise<Block> {
  const attention = await loadAttention(layer, config, weights, rope);
  const width = config.hiddenSize;
  if (config.structure.block === 'parallel') {
    const norm = await weights.norm('attentionNorm', layer, width);
    return new ParallelTransformerBlock({
      norm,
      attention,
      feedForward: await loadFeedForward(layer, config, weights),
    });
  }
  const attentionNorm = await weights.norm('attentionNorm', layer, width);
  const postAttentionNorm = config.structure.postNorms
    ? await weights.norm('postAttentionNorm', layer, width)
    : undefined;
  const feedForwardNorm = await weights.norm('feedForwardNorm', layer, width);
  const feedForward = await loadFeedForward(layer, config, weights);
  const postFeedForwardNorm = config.structure.postNorms
    ? await weights.norm('postFeedForwardNorm', layer, width)
    : undefined;
  return new TransformerBlock({
    attentionNorm,
    attention,
    feedForwardNorm,
    feedForward,
    ...(postAttentionNorm === undefined ? {} : { postAttentionNorm }),
    ...(postFeedForwardNorm === undefined ? {} : { postFeedForwardNorm }),
  });
}

/** Checks a layer range against the layer count (INVALID_ARGUMENT otherwise) and returns it, defaulting to all. */
export function resolveLayerRange(config: TransformerConfig, range: LayerRange | undefined): LayerRange {
  const resolved = range ?? { start: 0, end: config.layerCount };
  if (
    !Number.isInteger(resolved.start) ||
    !Number.isInteger(resolved.end) ||
    resolved.start < 0 ||
    resolved.end > config.layerCount ||
    resolved.start >= resolved.end
  ) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `Layer range [${resolved.start}, ${resolved.end}) is not a non-empty range within [0, ${config.layerCount}).`,
      {
        details: { ...resolved, layerCount: config.layerCount },
      },
    );
  }
  return Object.freeze({ start: resolved.start, end: resolved.end });
}

/**
 * Loads the layers `[start, end)` of a model: the standard layer of the config's structure, passed through the
 * family's customizer when it has one.
 */
export async function loadTransformerLayers(
  config: TransformerConfig,
  source: WeightSource,
  naming: TensorNaming,
  options: LoadLayersOptions = {},
): Promise<Block[]> {
  const range = resolveLayerRange(config, options.layerRange);
  const weights = new RoleWeights(config, source, naming);
  const rope =
    options.rope ??
    new RopeTables(config, naming, options.contextLength === undefined ? {} : { contextLength: options.contextLength });
  const blocks: Block[] = [];
  for (let layer = range.start; layer < range.end; layer++) {
    const standard = await loadStandardLayer(layer, config, weights, rope);
    blocks.push(
      options.customize === undefined ? standard : await options.customize(standard, { layer, config, weights, rope }),
    );
  }
  return blocks;
}
