import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openModelFiles } from '../node/model-files.js';
import { tokenizerFromModel } from './model-tokenizer.js';

const fixtures = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));

describe('tokenizerFromModel', () => {
  it('gives the same ids from the Hugging Face directory and from the GGUF file of a model', async () => {
    const expected = JSON.parse(readFileSync(`${fixtures}models/qwen3/expected.json`, 'utf8'));
    const fromDirectory = tokenizerFromModel(await openModelFiles(`${fixtures}models/qwen3`));
    const fromGguf = tokenizerFromModel(await openModelFiles(`${fixtures}models/qwen3/model-f32.gguf`));
    expect(fromDirectory.kind).toBe('tokenizer.json');
    expect(fromGguf.kind).toBe('gpt2');
    expect(fromDirectory.encode(expected.prompt)).toEqual(expected.prompt_token_ids_from_tokenizer);
    expect(fromGguf.encode(expected.prompt)).toEqual(expected.prompt_token_ids_from_tokenizer);
    expect(fromGguf.vocabularySize).toBe(fromDirectory.vocabularySize);
    const chat = '<|im_start|>user\nhi<|im_end|>';
    expect(fromGguf.encode(chat, { parseSpecial: true })).toEqual(fromDirectory.encode(chat, { parseSpecial: true }));
    expect(fromGguf.isEndOfGeneration(2)).toBe(true);
  });
});
