import type { StrataError } from '@strata/core';
import { GgufMetadata, type GgufTypedValue, ggufValue } from '@strata/loaders';
import { openGgufFile } from '@strata/loaders/node';
import { describe, expect, it } from 'vitest';
import { LLAMA_STRUCTURE } from './family-defaults.js';
import { parseGgufConfig } from './gguf-config.js';

const fixtures = '../shared/fixtures/models';
const defaults = { family: 'test', structure: LLAMA_STRUCTURE, activation: 'silu', normalizeExperts: true } as const;

function metadata(entries: Record<string, GgufTypedValue>): GgufMetadata {
  return new GgufMetadata(Object.entries(entries));
}

const MINIMAL: Record<string, GgufTypedValue> = {
  'general.architecture': ggufValue.string('llama'),
  'llama.block_count': ggufValue.u32(2),
  'llama.embedding_length': ggufValue.u32(64),
  'llama.feed_forward_length': ggufValue.u32(128),
  'llama.attention.head_count': ggufValue.u32(4),
  'llama.attention.layer_norm_rms_epsilon': ggufValue.f32(1e-5),
  'tokenizer.ggml.tokens': ggufValue.stringArray(['a', 'b', 'c']),
};

describe('parseGgufConfig', () => {
  it('reads a llama.cpp Mixtral file: experts, vocabulary, RoPE', async () => {
    const file = await openGgufFile(`${fixtures}/mixtral/model-f32.gguf`);
    const config = parseGgufConfig(file.metadata, defaults);
    expect(config).toMatchObject({
      architecture: 'llama',
      hiddenSize: 64,
      layerCount: 2,
      vocabularySize: 384,
      heads: 4,
      keyValueHeads: 2,
      headDimensions: 16,
      contextLength: 256,
      rope: { base: 1000000, rotaryDimensions: 16, scaling: { kind: 'default' } },
      experts: { count: 4, perToken: 2, feedForwardSize: 128, normalize: true },
      layerWindows: [undefined, undefined],
    });
  });

  it('falls back as llama.cpp does: head_count_kv = heads, key_length = width / heads, vocabulary from the tokens', () => {
    const config = parseGgufConfig(metadata(MINIMAL), defaults);
    expect(config.keyValueHeads).toBe(4);
    expect(config.headDimensions).toBe(16);
    expect(config.rope.rotaryDimensions).toBe(16);
    expect(config.rope.base).toBe(10000);
    expect(config.vocabularySize).toBe(3);
    expect(parseGgufConfig(metadata(MINIMAL), defaults, { embeddingRows: 8 }).vocabularySize).toBe(8);
  });

  it('gives sliding windows to the layers the family names, and reads YaRN scaling', () => {
    const config = parseGgufConfig(
      metadata({
        ...MINIMAL,
        'llama.attention.sliding_window': ggufValue.u32(8),
        'llama.rope.scaling.type': ggufValue.string('yarn'),
        'llama.rope.scaling.factor': ggufValue.f32(4),
        'llama.rope.scaling.original_context_length': ggufValue.u32(4096),
      }),
      { ...defaults, isSlidingLayer: (layer) => layer % 2 === 0 },
    );
    expect(config.layerWindows).toEqual([8, undefined]);
    expect(config.rope.scaling).toEqual({ kind: 'yarn', factor: 4, originalContextLength: 4096 });
  });

  it('raises INVALID_CONFIG for missing or contradictory keys', () => {
    const { 'llama.embedding_length': _, ...noWidth } = MINIMAL;
    for (const entries of [
      noWidth,
      { ...MINIMAL, 'llama.attention.head_count_kv': ggufValue.u32(3) },
      { ...MINIMAL, 'llama.rope.dimension_count': ggufValue.u32(18) },
      { ...MINIMAL, 'llama.rope.scaling.type': ggufValue.string('dynamic') },
      { ...MINIMAL, 'llama.attention.head_count': ggufValue.u32Array([4, 8]) },
    ]) {
      expect(() => parseGgufConfig(metadata(entries), defaults)).toThrow(
        expect.objectContaining({ code: 'INVALID_CONFIG' }) as unknown as StrataError,
      );
    }
  });
});
