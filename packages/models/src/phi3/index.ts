/**
 * Phi-3 family: Llama structure with a fused QKV projection and a fused gate/up projection ([gate | up] rows), and
 * LongRoPE (short factors within the original context, long beyond it).
 * @packageDocumentation
 */
import type { RopeParameters } from '@strata/core';
import { ropeParameters, TransformerBlock } from '@strata/primitives';
import type { LayerContext, LayerCustomizer } from '../builder/layer-loader.js';
import type { RopeTables } from '../builder/rope-tables.js';
import { LLAMA_STRUCTURE } from '../config/family-defaults.js';
import { defineFamily, type ModelFamily } from '../registry/model-family.js';

/** llama.cpp's names of the LongRoPE factor tensors (`[rotaryDimensions / 2]` each). */
const LONG_FACTORS = 'rope_factors_long.weight';
const SHORT_FACTORS = 'rope_factors_short.weight';

/** One LongRoPE table per loaded model (keyed by its RoPE tables), shared by every layer. */
const longRopeTables = new WeakMap<RopeTables, Promise<RopeParameters>>();

async function buildLongRopeTable(context: LayerContext): Promise<RopeParameters> {
  const { config, weights, rope } = context;
  const source = weights.weights;
  return ropeParameters(
    {
      headDimensions: config.headDimensions,
      rotaryDimensions: config.rope.rotaryDimensions,
      base: config.rope.base,
      pairing: weights.naming.ropePairing,
    },
    {
      kind: 'longrope',
      shortFactors: Array.from(await source.floats(SHORT_FACTORS)),
      longFactors: Array.from(await source.floats(LONG_FACTORS)),
      originalContextLength: config.rope.originalContextLength ?? config.contextLength,
      extendedContextLength: config.contextLength,
    },
    { contextLength: rope.contextLength },
  );
}

/**
 * GGUF files store Phi-3's LongRoPE factors as two tensors (config.json states them in `rope_scaling`, which the
 * config parser reads): when present, every layer's rotary table becomes the LongRoPE one. The attention factor is
 * √(1 + ln(extended / original) / ln(original)), the value llama.cpp's converter writes.
 */
const useLongRopeFactors: LayerCustomizer = async (block, context) => {
  const source = context.weights.weights;
  if (!source.has(LONG_FACTORS) || !source.has(SHORT_FACTORS) || !(block instanceof TransformerBlock)) return block;
  let table = longRopeTables.get(context.rope);
  if (table === undefined) {
    table = buildLongRopeTable(context);
    longRopeTables.set(context.rope, table);
  }
  return block.with({ attention: block.parts.attention.withRotary(await table) });
};

/**
 * The Phi-3 family (GGUF `phi3`; Hugging Face `phi3`). Hugging Face names the fused tensors `qkv_proj` and
 * `gate_up_proj`; llama.cpp's GGUF names them `attn_qkv` and `ffn_up` (then holding both halves).
 */
export const phi3: ModelFamily = defineFamily({
  name: 'phi3',
  ggufArchitectures: ['phi3'],
  huggingFaceModelTypes: ['phi3'],
  defaults: { family: 'phi3', structure: LLAMA_STRUCTURE, activation: 'silu', normalizeExperts: false },
  naming: { gguf: { layer: { gateUp: 'blk.{layer}.ffn_up' } } },
  customize: useLongRopeFactors,
});
