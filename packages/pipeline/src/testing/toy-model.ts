/**
 * Test doubles: a tiny random transformer built on the Backend interface (attention with RoPE, a sliding-window layer,
 * per-layer caches from the pipeline) and a byte-level tokenizer. Test-only: not exported from the package.
 */
import type { Backend, KeyValueCache, RopeParameters, Tensor, WeightTensor } from '@strata/core';
import type { CompleteModel, ForwardContext, LayerCacheSpec, LayerRange } from '@strata/models';
import { SeededRandom } from '../sampling/random.js';
import type { PipelineTokenizer } from '../text/tokenizer.js';

/** Shape of the toy model. */
export interface ToyModelConfig {
  /** Rows of the embedding and columns of the logits (260 fits the byte tokenizer). */
  readonly vocabularySize: number;
  /** Width of the hidden states; `hiddenSize / heads` is the head size, which must be even (RoPE pairs). */
  readonly hiddenSize: number;
  /** Query heads; must divide `hiddenSize`. */
  readonly heads: number;
  /** Key/value heads (grouped-query attention when fewer than `heads`; must divide it). */
  readonly keyValueHeads: number;
  /** Transformer layers; `windows` has one entry per layer. */
  readonly layers: number;
  /** Sliding window per layer (undefined: full attention). */
  readonly windows: readonly (number | undefined)[];
  /** Seed of every random weight: one config always gives the same network, whatever layer range is built. */
  readonly seed: number;
}

/** The default toy: 3 layers, the middle one with a window of 4 tokens; vocabulary of the byte tokenizer. */
export const TOY_CONFIG: ToyModelConfig = {
  vocabularySize: 260,
  hiddenSize: 16,
  heads: 2,
  keyValueHeads: 1,
  layers: 3,
  windows: [undefined, 4, undefined],
  seed: 7,
};

interface ToyLayer {
  readonly norm: WeightTensor;
  readonly query: WeightTensor;
  readonly key: WeightTensor;
  readonly value: WeightTensor;
  readonly output: WeightTensor;
}

function randomMatrix(random: SeededRandom, rows: number, columns: number, scale: number): Float32Array {
  return Float32Array.from({ length: rows * columns }, () => (random.next() * 2 - 1) * scale);
}

async function f32(backend: Backend, name: string, data: Float32Array, shape: number[]): Promise<WeightTensor> {
  return backend.uploadWeight({ name, type: 'F32', shape }, new Uint8Array(data.buffer));
}

/**
 * A toy model over `range` (default: every layer). Weights depend only on the config's seed, so models over
 * different ranges of one config are stages of the same network.
 */
export async function createToyModel(
  backend: Backend,
  config: ToyModelConfig = TOY_CONFIG,
  range: LayerRange = { start: 0, end: config.layers },
): Promise<CompleteModel> {
  const random = new SeededRandom(config.seed);
  const { hiddenSize: hidden, heads, keyValueHeads, vocabularySize } = config;
  const headDimensions = hidden / heads;
  const keyValueWidth = keyValueHeads * headDimensions;
  const embedding = await f32(backend, 'embed', randomMatrix(random, vocabularySize, hidden, 1), [
    vocabularySize,
    hidden,
  ]);
  const layers: ToyLayer[] = [];
  for (let index = 0; index < config.layers; index++) {
    const norm = Float32Array.from({ length: hidden }, () => 0.8 + random.next() * 0.4);
    const layer: ToyLayer = {
      norm: await f32(backend, `blk.${index}.norm`, norm, [hidden]),
      query: await f32(backend, `blk.${index}.q`, randomMatrix(random, hidden, hidden, 0.6), [hidden, hidden]),
      key: await f32(backend, `blk.${index}.k`, randomMatrix(random, keyValueWidth, hidden, 0.6), [
        keyValueWidth,
        hidden,
      ]),
      value: await f32(backend, `blk.${index}.v`, randomMatrix(random, keyValueWidth, hidden, 0.6), [
        keyValueWidth,
        hidden,
      ]),
      output: await f32(backend, `blk.${index}.o`, randomMatrix(random, hidden, hidden, 0.6), [hidden, hidden]),
    };
    if (index >= range.start && index < range.end) layers.push(layer);
  }
  const finalNorm = await f32(
    backend,
    'norm',
    Float32Array.from({ length: hidden }, () => 1),
    [hidden],
  );
  const head = await f32(backend, 'head', randomMatrix(random, vocabularySize, hidden, 1.5), [vocabularySize, hidden]);
  const rope: RopeParameters = {
    headDimensions,
    rotaryDimensions: headDimensions,
    pairing: 'half-split',
    inverseFrequencies: Float32Array.from(
      { length: headDimensions / 2 },
      (_, i) => 10000 ** ((-2 * i) / headDimensions),
    ),
    attentionFactor: 1,
  };
  const cacheSpecs: LayerCacheSpec[] = [];
  for (let index = range.start; index < range.end; index++) {
    const window = config.windows[index];
    cacheSpecs.push(
      window === undefined ? { keyValueWidth, headDimensions } : { keyValueWidth, headDimensions, window },
    );
  }

  const attend = (
    layer: ToyLayer,
    window: number | undefined,
    x: Tensor,
    context: ForwardContext,
    cache: KeyValueCache,
  ) => {
    const b = context.backend;
    const normed = b.rmsNorm(x, layer.norm, 1e-5);
    const q = b.rope(b.matmul(normed, layer.query), context.firstPosition, rope);
    const k = b.rope(b.matmul(normed, layer.key), context.firstPosition, rope);
    const v = b.matmul(normed, layer.value);
    b.writeKeyValues(cache, k, v, context.firstPosition);
    const attended = b.attention(q, cache, {
      heads,
      keyValueHeads,
      headDimensions,
      firstPosition: context.firstPosition,
      scale: 1 / Math.sqrt(headDimensions),
      ...(window === undefined ? {} : { window }),
    });
    return b.add(x, b.matmul(attended, layer.output));
  };

  return {
    hiddenSize: hidden,
    layerCount: config.layers,
    layerRange: range,
    cacheSpecs,
    vocabularySize,
    embed: (ids) => backend.embedding(embedding, ids),
    transform(hidden: Tensor, context: ForwardContext): Tensor {
      let x = hidden;
      layers.forEach((layer, index) => {
        x = attend(layer, config.windows[range.start + index], x, context, context.caches[index]!);
      });
      return x;
    },
    lmHead: (hidden) => backend.matmul(backend.rmsNorm(hidden, finalNorm, 1e-5), head),
  };
}

/** Byte-level toy tokenizer: ids 0–255 are bytes, 256 is BOS, 257 is EOS, 258–259 unused. */
export function createByteTokenizer(): PipelineTokenizer {
  const textOf = (ids: ArrayLike<number>, skipSpecial: boolean | undefined, decoder: TextDecoder, stream: boolean) => {
    let text = '';
    for (let index = 0; index < ids.length; index++) {
      const id = ids[index]!;
      if (id < 256) text += decoder.decode(Uint8Array.of(id), { stream: true });
      else if (skipSpecial !== true) text += `<${id}>`;
    }
    return stream ? text : text + decoder.decode();
  };
  return {
    endOfGenerationIds: new Set([257]),
    encode(text, options) {
      const bytes = Array.from(new TextEncoder().encode(text));
      return options?.addSpecial === true ? [256, ...bytes] : bytes;
    },
    decode: (ids, options) => textOf(ids, options?.skipSpecial, new TextDecoder(), false),
    createStreamDecoder(options) {
      const decoder = new TextDecoder();
      return {
        push: (id) => textOf([id], options?.skipSpecial, decoder, true),
        flush: () => decoder.decode(),
      };
    },
  };
}
