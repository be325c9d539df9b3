import { StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { llama } from '../llama/index.js';
import { DEFAULT_REGISTRY } from './default-registry.js';
import { FamilyRegistry } from './family-registry.js';
import { defineFamily } from './model-family.js';

describe('FamilyRegistry', () => {
  it('maps GGUF architectures and Hugging Face model types to families', () => {
    expect(DEFAULT_REGISTRY.resolve('gguf', 'llama').name).toBe('llama');
    expect(DEFAULT_REGISTRY.resolve('huggingface', 'mixtral').name).toBe('llama');
    expect(DEFAULT_REGISTRY.resolve('huggingface', 'mistral').name).toBe('llama');
    expect(DEFAULT_REGISTRY.resolve('gguf', 'qwen3moe').name).toBe('qwen3-moe');
    expect(DEFAULT_REGISTRY.resolve('huggingface', 'qwen3_moe').name).toBe('qwen3-moe');
  });

  it('raises UNKNOWN_ARCHITECTURE listing the supported names', () => {
    let caught: unknown;
    try {
      DEFAULT_REGISTRY.resolve('gguf', 'mamba');
    } catch (error) {
      caught = error;
    }
    expect(StrataError.isInstance(caught, 'UNKNOWN_ARCHITECTURE')).toBe(true);
    expect((caught as Error).message).toContain('mamba');
    expect((caught as Error).message).toContain('qwen2');
    expect((caught as StrataError).details.supported).toEqual(DEFAULT_REGISTRY.supported('gguf'));
  });

  it('refuses two families claiming one name', () => {
    const clash = defineFamily({ ...llama, name: 'other', huggingFaceModelTypes: [] });
    expect(() => new FamilyRegistry([llama, clash])).toThrow(/claimed by both/);
  });
});
