import { readFileSync } from 'node:fs';
import { StrataError } from '@strata/core';
import { type ByteSource, openModel } from '@strata/loaders';
import { describe, expect, it } from 'vitest';
import { pickedModel } from './model-source.js';

const LLAMA = new URL('../../../../shared/fixtures/models/llama/', import.meta.url);

/** A File as a browser's file input gives it; a folder pick sets `webkitRelativePath` to `folder/…/name`. */
function file(name: string, bytes: BlobPart, relativePath = ''): File {
  const picked = new File([bytes], name);
  Object.defineProperty(picked, 'webkitRelativePath', { value: relativePath });
  return picked;
}

const fixture = (name: string) => new Uint8Array(readFileSync(new URL(name, LLAMA)));

describe('pickedModel', () => {
  it('opens a picked .gguf file through blobSource', async () => {
    const picked = pickedModel([file('model-f32.gguf', fixture('model-f32.gguf'))]);
    expect(picked.kind).toBe('gguf');
    expect(picked.name).toBe('model-f32.gguf');
    const opened = await openModel(picked.source);
    expect(opened.format).toBe('gguf');
    expect(opened.architecture).toBe('llama');
    expect(opened.tensors.tensors.size).toBe(21);
  });

  it('orders the shards of a split GGUF by name', () => {
    const picked = pickedModel([
      file('m-00002-of-00002.gguf', 'b'),
      file('notes.txt', 'x'),
      file('m-00001-of-00002.gguf', 'a'),
    ]);
    expect(picked.kind).toBe('gguf');
    expect(picked.name).toBe('m-00001-of-00002.gguf');
    expect((picked.source as readonly ByteSource[]).map((source) => source.name)).toEqual([
      'm-00001-of-00002.gguf',
      'm-00002-of-00002.gguf',
    ]);
  });

  it('opens a picked Hugging Face folder by its top-level files', async () => {
    const names = [
      'config.json',
      'tokenizer.json',
      'tokenizer_config.json',
      'chat_template.jinja',
      'model.safetensors',
    ];
    const picked = pickedModel([
      ...names.map((name) => file(name, fixture(name), `llama/${name}`)),
      file('config.json', '{ not json', 'llama/nested/config.json'),
    ]);
    expect(picked.kind).toBe('huggingface');
    expect(picked.name).toBe('llama');
    const opened = await openModel(picked.source);
    expect(opened.format).toBe('huggingface');
    expect(opened.architecture).toBe('LlamaForCausalLM');
    expect(opened.tensors.tensors.size).toBeGreaterThan(0);
  });

  it('says what to pick when no file is a model', () => {
    let thrown: unknown;
    try {
      pickedModel([file('readme.md', '# hi')]);
    } catch (error) {
      thrown = error;
    }
    expect(StrataError.isInstance(thrown, 'INVALID_ARGUMENT')).toBe(true);
    expect((thrown as Error).message).toMatch(/pick a \.gguf file/);
  });
});
