import { readFileSync } from 'node:fs';
import { StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { LLAMA_STRUCTURE } from './family-defaults.js';
import { parseHuggingFaceConfig } from './huggingface-config.js';

const fixtures = '../shared/fixtures/models';
const defaults = { family: 'test', structure: LLAMA_STRUCTURE, activation: 'silu', normalizeExperts: true } as const;
const fixtureConfig = (name: string): Record<string, unknown> =>
  JSON.parse(readFileSync(`${fixtures}/${name}/config.json`, 'utf8'));

function expectInvalid(run: () => unknown, fragment: string): void {
  let caught: unknown;
  try {
    run();
  } catch (error) {
    caught = error;
  }
  expect(StrataError.isInstance(caught, 'INVALID_CONFIG'), String(caught)).toBe(true);
  expect((caught as Error).message).toContain(fragment);
}

describe('parseHuggingFaceConfig', () => {
  it('resolves every default of a Llama config (transformers 5 rope_parameters)', () => {
    const config = parseHuggingFaceConfig(fixtureConfig('llama'), defaults);
    expect(config).toMatchObject({
      architecture: 'llama',
      hiddenSize: 64,
      layerCount: 2,
      vocabularySize: 384,
      heads: 4,
      keyValueHeads: 2,
      headDimensions: 16,
      feedForwardSize: 128,
      normEpsilon: 1e-5,
      contextLength: 256,
      activation: 'silu',
      rope: { base: 10000, rotaryDimensions: 16, scaling: { kind: 'default' }, localBase: undefined },
      layerWindows: [undefined, undefined],
      experts: undefined,
      tiedEmbeddings: false,
      embeddingScale: 1,
    });
    expect(config.attentionScale).toBeCloseTo(0.25, 12);
  });

  it('applies Mistral sliding_window to every layer, and no window when use_sliding_window is false', () => {
    expect(parseHuggingFaceConfig(fixtureConfig('mistral-swa'), defaults).layerWindows).toEqual([8, 8]);
    expect(
      parseHuggingFaceConfig({ ...fixtureConfig('mistral-swa'), use_sliding_window: false }, defaults).layerWindows,
    ).toEqual([undefined, undefined]);
  });

  it('reads per-layer windows and per-layer-type RoPE (Gemma 3) and query_pre_attn_scalar', () => {
    const config = parseHuggingFaceConfig(fixtureConfig('gemma3'), defaults);
    expect(config.layerWindows).toEqual([8, 8, 8, 8, 8, undefined]);
    expect(config.rope.base).toBe(1000000);
    expect(config.rope.localBase).toBe(10000);
    expect(config.activation).toBe('gelu-tanh');
    expect(config.tiedEmbeddings).toBe(true);
  });

  it('reads MoE settings (Mixtral: family default normalisation; Qwen3-MoE: norm_topk_prob)', () => {
    expect(parseHuggingFaceConfig(fixtureConfig('mixtral'), defaults).experts).toEqual({
      count: 4,
      perToken: 2,
      feedForwardSize: 128,
      normalize: true,
    });
    expect(parseHuggingFaceConfig(fixtureConfig('qwen3moe'), { ...defaults, normalizeExperts: false }).experts).toEqual(
      {
        count: 4,
        perToken: 2,
        feedForwardSize: 64,
        normalize: true,
      },
    );
  });

  it('derives partial rotary dimensions and LayerNorm epsilon (Phi-2)', () => {
    const config = parseHuggingFaceConfig(fixtureConfig('phi2'), {
      ...defaults,
      structure: { ...LLAMA_STRUCTURE, norm: 'layer' },
    });
    expect(config.rope.rotaryDimensions).toBe(8);
    expect(config.normEpsilon).toBe(1e-5);
    expect(config.activation).toBe('gelu-tanh');
  });

  it('reads transformers 4 rope_theta / rope_scaling (Llama 3.1) and YaRN with original_max_position_embeddings', () => {
    const { rope_parameters: _, ...base } = fixtureConfig('llama');
    const llama3 = parseHuggingFaceConfig(
      {
        ...base,
        rope_theta: 500000,
        rope_scaling: {
          rope_type: 'llama3',
          factor: 8,
          low_freq_factor: 1,
          high_freq_factor: 4,
          original_max_position_embeddings: 8192,
        },
      },
      defaults,
    );
    expect(llama3.rope.base).toBe(500000);
    expect(llama3.rope.scaling).toEqual({
      kind: 'llama3',
      factor: 8,
      lowFrequencyFactor: 1,
      highFrequencyFactor: 4,
      originalContextLength: 8192,
    });
    const yarn = parseHuggingFaceConfig(
      { ...base, max_position_embeddings: 1024, rope_scaling: { type: 'yarn', original_max_position_embeddings: 256 } },
      defaults,
    );
    expect(yarn.rope.scaling).toEqual({ kind: 'yarn', factor: 4, originalContextLength: 256 });
  });

  it('raises INVALID_CONFIG for missing and contradictory keys', () => {
    const { hidden_size: _, ...noHidden } = fixtureConfig('llama');
    expectInvalid(() => parseHuggingFaceConfig(noHidden, defaults), 'hidden_size');
    expectInvalid(
      () => parseHuggingFaceConfig({ ...fixtureConfig('llama'), num_key_value_heads: 3 }, defaults),
      'divide',
    );
    expectInvalid(
      () => parseHuggingFaceConfig({ ...fixtureConfig('llama'), num_attention_heads: 'four' }, defaults),
      'num_attention_heads',
    );
    expectInvalid(
      () => parseHuggingFaceConfig({ ...fixtureConfig('qwen2'), layer_types: ['full_attention'] }, defaults),
      'layer_types',
    );
    expectInvalid(
      () =>
        parseHuggingFaceConfig(
          { ...fixtureConfig('llama'), rope_parameters: { rope_type: 'dynamic', factor: 2 } },
          defaults,
        ),
      'dynamic',
    );
    expectInvalid(
      () => parseHuggingFaceConfig({ ...fixtureConfig('llama'), hidden_act: 'swiglu-ish' }, defaults),
      'swiglu-ish',
    );
    expectInvalid(() => parseHuggingFaceConfig([], defaults), 'JSON object');
  });
});
