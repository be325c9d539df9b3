import { GgufMetadata, ggufValue } from '@strata/loaders';
import { describe, expect, it } from 'vitest';
import { parseGgufConfig } from '../config/gguf-config.js';
import { parseHuggingFaceConfig } from '../config/huggingface-config.js';
import { gemma3 } from '../gemma3/index.js';
import { gemma2 } from './index.js';

// What the Gemma 2/3 families add to what files state: which layers slide, the local RoPE base, and the q·k scale of
// GGUF files (which carry no query_pre_attn_scalar). Sizes are those of the published checkpoints.

function ggufMetadata(
  architecture: string,
  size: { layers: number; hidden: number; heads: number; headDimensions: number },
  window?: number,
): GgufMetadata {
  return new GgufMetadata(
    Object.entries({
      'general.architecture': ggufValue.string(architecture),
      [`${architecture}.block_count`]: ggufValue.u32(size.layers),
      [`${architecture}.embedding_length`]: ggufValue.u32(size.hidden),
      [`${architecture}.feed_forward_length`]: ggufValue.u32(4 * size.hidden),
      [`${architecture}.attention.head_count`]: ggufValue.u32(size.heads),
      [`${architecture}.attention.head_count_kv`]: ggufValue.u32(size.heads / 2),
      [`${architecture}.attention.key_length`]: ggufValue.u32(size.headDimensions),
      [`${architecture}.attention.layer_norm_rms_epsilon`]: ggufValue.f32(1e-6),
      [`${architecture}.vocab_size`]: ggufValue.u32(256),
      ...(window === undefined ? {} : { [`${architecture}.attention.sliding_window`]: ggufValue.u32(window) }),
    }),
  );
}

describe('Gemma 2 and 3 configuration', () => {
  it('scales q·k by 1/√(hidden/heads) for the 27B GGUF files and by 1/√headDimensions otherwise', () => {
    const cases = [
      { family: gemma2, size: { layers: 46, hidden: 4608, heads: 32, headDimensions: 128 }, scalar: 144 },
      { family: gemma2, size: { layers: 42, hidden: 3584, heads: 16, headDimensions: 256 }, scalar: 256 },
      { family: gemma3, size: { layers: 62, hidden: 5376, heads: 32, headDimensions: 128 }, scalar: 168 },
      { family: gemma3, size: { layers: 26, hidden: 1152, heads: 4, headDimensions: 256 }, scalar: 256 },
    ];
    for (const { family, size, scalar } of cases) {
      const config = parseGgufConfig(ggufMetadata(family.name, size), family.defaults);
      expect(config.attentionScale).toBeCloseTo(1 / Math.sqrt(scalar), 12);
    }
  });

  it('applies one GGUF window to even Gemma 2 layers and to five of six Gemma 3 layers, local base 10000', () => {
    const size = { layers: 12, hidden: 64, heads: 4, headDimensions: 16 };
    const second = parseGgufConfig(ggufMetadata('gemma2', size, 8), gemma2.defaults);
    const third = parseGgufConfig(ggufMetadata('gemma3', size, 8), gemma3.defaults);
    expect(second.layerWindows).toEqual([
      8,
      undefined,
      8,
      undefined,
      8,
      undefined,
      8,
      undefined,
      8,
      undefined,
      8,
      undefined,
    ]);
    expect(third.layerWindows).toEqual([8, 8, 8, 8, 8, undefined, 8, 8, 8, 8, 8, undefined]);
    expect(third.rope.localBase).toBe(10000);
    expect(parseGgufConfig(ggufMetadata('gemma3', size), gemma3.defaults).layerWindows).toEqual(
      new Array(12).fill(undefined),
    );
  });

  it('reads a transformers 4.42 Gemma 2 config.json (one sliding_window, no layer_types) as alternating layers', () => {
    const config = parseHuggingFaceConfig(
      {
        model_type: 'gemma2',
        hidden_size: 64,
        num_hidden_layers: 4,
        num_attention_heads: 4,
        num_key_value_heads: 2,
        head_dim: 16,
        intermediate_size: 128,
        rms_norm_eps: 1e-6,
        vocab_size: 256,
        sliding_window: 4096,
        query_pre_attn_scalar: 144,
      },
      gemma2.defaults,
    );
    expect(config.layerWindows).toEqual([4096, undefined, 4096, undefined]);
    expect(config.attentionScale).toBeCloseTo(1 / 12, 12);
  });
});
