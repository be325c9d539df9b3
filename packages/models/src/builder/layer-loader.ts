import { type RopeParameters, StrataError, type WeightTensor } from '@strata/core';
import {
  type AttentionProjections,
  type Block,
  CausalAttention,
  type FeedForward,
  GatedMlp,
  LayerNorm,
  Linear,
  MoE,
  Mlp,
  type Norm,
  ParallelTransformerBlock,
  RmsNorm,
  ropeParameters,
  TransformerBlock,
} from '@strata/primitives';
import type { TransformerConfig } from '../config/transformer-config.js';
import {
  type LayerTensorRole,
  layerTensorName,
  type ModelTensorRole,
  modelTensorName,
  type TensorNaming,
} from '../naming/tensor-naming.js';
import type { WeightSource } from '../weights/weight-source.js';
import type { LayerRange } from '../model/capabilities.js';

/**
 * Loads the tensors of one model by role: the bridge between a family's layer definition and a file's names.
 * Format quirks (norm offsets, biases present or not, per-expert tensors) are resolved here.
 */
export class RoleWeights {
  /** The config. */
  readonly config: TransformerConfig;
  /** The files' weights. */
  readonly weights: WeightSource;
  /** The files' naming. */
  readonly naming: TensorNaming;

  constructor(config: TransformerConfig, weights: WeightSource, naming: TensorNaming) {
    this.config = config;
    this.weights = weights;
    this.naming = naming;
  }

  /** The full tensor name of a layer role (`.weight` or `.bias`), undefined when the format has no such role. */
  layerName(
    role: LayerTensorRole,
    layer: number,
    suffix: 'weight' | 'bias' = 'weight',
    expert?: number,
  ): string | undefined {
    const base = layerTensorName(this.naming, role, layer, expert);
    return base === undefined ? undefined : `${base}.${suffix}`;
  }

  /** The full tensor name of a model role, undefined when the format has none. */
  modelName(role: ModelTensorRole, suffix: 'weight' | 'bias' = 'weight'): string | undefined {
    const base = modelTensorName(this.naming, role);
    return base === undefined ? undefined : `${base}.${suffix}`;
  }

  /** True when the files hold this layer tensor (the first expert's, for per-expert roles). */
  hasLayer(role: LayerTensorRole, layer: number, suffix: 'weight' | 'bias' = 'weight'): boolean {
    const expert = this.naming.expertLayout === 'per-expert' && role.startsWith('expert') ? 0 : undefined;
    const name = this.layerName(role, layer, suffix, expert);
    return name !== undefined && this.weights.has(name);
  }

  /** True when the files hold this model tensor. */
  hasModel(role: ModelTensorRole): boolean {
    const name = this.modelName(role);
    return name !== undefined && this.weights.has(name);
  }

  #require(name: string | undefined, role: string): string {
    if (name === undefined) {
      throw new StrataError('TENSOR_NOT_FOUND', `The ${this.naming.format} naming has no tensor for role '${role}'.`, {
        details: { role },
      });
    }
    return name;
  }

  /** A layer projection `[outputs, inputs]` with its bias when the file has one. */
  async linear(role: LayerTensorRole, layer: number, outputs: number, inputs: number): Promise<Linear> {
    const weight = await this.weights.tensor(this.#require(this.layerName(role, layer), role), [outputs, inputs]);
    const biasName = this.layerName(role, layer, 'bias');
    const bias =
      biasName !== undefined && this.weights.has(biasName) ? await this.weights.vector(biasName, outputs) : undefined;
    return new Linear(weight, bias);
  }

  /** A norm of `width` (the structure's kind; LayerNorm bias when present), the family's weight offset folded in. */
  async norm(role: LayerTensorRole, layer: number, width: number): Promise<Norm> {
    return this.#norm(this.#require(this.layerName(role, layer), role), this.layerName(role, layer, 'bias'), width);
  }

  /** A model-level norm (the final norm). */
  async modelNorm(role: ModelTensorRole, width: number): Promise<Norm> {
    return this.#norm(this.#require(this.modelName(role), role), this.modelName(role, 'bias'), width);
  }

  async #norm(weightName: string, biasName: string | undefined, width: number): Promise<Norm> {
    const offset = this.naming.normsIncludeOffset ? 0 : this.config.structure.normWeightOffset;
    const weight = await this.weights.vector(weightName, width, { add: offset });
    if (this.config.structure.norm === 'rms') return new RmsNorm(weight, this.config.normEpsilon);
    const bias =
      biasName !== undefined && this.weights.has(biasName) ? await this.weights.vector(biasName, width) : undefined;
    return new LayerNorm(weight, bias, this.config.normEpsilon);
  }

  /** An expert stack `[experts, rows, columns]`, from one stacked tensor or one tensor per expert. */
  async experts(
    role: 'expertGate' | 'expertUp' | 'expertDown',
    layer: number,
    rows: number,
    columns: number,
  ): Promise<WeightTensor> {
    const count = this.config.experts?.count ?? 0;
    if (this.naming.expertLayout === 'stacked') {
      return this.weights.tensor(this.#require(this.layerName(role, layer), role), [count, rows, columns]);
    }
    const names = Array.from({ length: count }, (_, expert) =>
      this.#require(this.layerName(role, layer, 'weight', expert), role),
    );
    return this.weights.stack(names, [rows, columns]);
  }
}

/** Computes RoPE tables once per distinct base, so every layer shares one table object (backends cache by identity). */
export class RopeTables {
  readonly #config: TransformerConfig;
  readonly #naming: TensorNaming;
  readonly #contextLength: number;
  readonly #tables = new Map<string, RopeParameters>();
  readonly #frequencyFactors: readonly number[] | undefined;

  constructor(
    config: TransformerConfig,
    naming: TensorNaming,
    options: { contextLength?: number; frequencyFactors?: readonly number[] } = {},
  ) {
    this.#config = config;
    this.#naming = naming;
    this.#contextLength = options.contextLength ?? config.contextLength;
    this.#frequencyFactors = options.frequencyFactors;
  }

  /** The context length the tables are built for (LongRoPE picks its factors by it). */
  get contextLength(): number {
    return this.#contextLength;
  }

  /** The table of a layer: local settings for sliding-window layers when the model has separate ones. */
  forLayer(layer: number): RopeParameters {
    const rope = this.#config.rope;
    const local = this.#config.layerWindows[layer] !== undefined && rope.localBase !== undefined;
    const key = local ? 'local' : 'global';
    let table = this.#tables.get(key);
    if (table === undefined) {
      const scaling = local
        ? (rope.localScaling ?? rope.scaling)
        : this.#frequencyFactors !== undefined
          ? { kind: 'frequency-factors' as const, factors: this.#frequencyFactors }
          : rope.scaling;
      table = ropeParameters(
        {
          headDimensions: this.#config.headDimensions,
          rotaryDimensions: rope.rotaryDimensions,
          base: local ? (rope.localBase as number) : rope.base,
          pairing: this.#naming.ropePairing,
        },
        scaling,
        { contextLength: this.#contextLength },
      );
      this.#tables.set(key, table);
    }
    return table;
  }
}

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
  const projections: AttentionProjections = weights.hasLayer('query', layer)
    ? {
        query: await weights.linear('query', layer, queryWidth, hiddenSize),
        key: await weights.linear('key', layer, keyValueWidth, hiddenSize),
        value: await weights.linear('value', layer, keyValueWidth, hiddenSize),
        output: await weights.linear('attentionOutput', layer, hiddenSize, queryWidth),
      }
    : {
        queryKeyValue: await weights.linear('queryKeyValue', layer, queryWidth + 2 * keyValueWidth, hiddenSize),
        output: await weights.linear('attentionOutput', layer, hiddenSize, queryWidth),
      };
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
    return new GatedMlp(
      {
        gate: await weights.linear('gate', layer, size, hiddenSize),
        up: await weights.linear('up', layer, size, hiddenSize),
      },
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
