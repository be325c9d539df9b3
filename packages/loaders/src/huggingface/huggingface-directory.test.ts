import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../byte-source/byte-source.js';
import { sourcesDirectory } from '../byte-source/directory-source.js';
import { directorySource } from '../node/file-source.js';
import { openHuggingFaceDirectory } from './huggingface-directory.js';

const fixtures = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));
const modelNames = readdirSync(`${fixtures}models`);
const text = (value: string) => bytesSource(new TextEncoder().encode(value));

describe('Hugging Face directories', () => {
  it.each(modelNames)('%s: configs, tokenizer, chat template and tensors', async (name) => {
    const path = `${fixtures}models/${name}`;
    const model = await openHuggingFaceDirectory(directorySource(path));
    expect(model.config).toEqual(JSON.parse(readFileSync(`${path}/config.json`, 'utf8')));
    expect(model.generationConfig).toEqual(JSON.parse(readFileSync(`${path}/generation_config.json`, 'utf8')));
    expect(typeof (model.tokenizer?.model as { type?: unknown } | undefined)?.type).toBe('string');
    expect(model.tokenizerConfig).toBeDefined();
    expect(model.chatTemplate).toBe(readFileSync(`${path}/chat_template.jinja`, 'utf8'));
    expect(model.safetensorsIndex).toBeUndefined();
    expect(model.tensors.tensors.size).toBeGreaterThan(0);
  });

  it('falls back to the template of tokenizer_config.json and reports a missing config.json', async () => {
    const header = JSON.stringify({ w: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } });
    const bytes = new Uint8Array(8 + header.length + 4);
    new DataView(bytes.buffer).setBigUint64(0, BigInt(header.length), true);
    bytes.set(new TextEncoder().encode(header), 8);
    const files = {
      'config.json': text('{"model_type": "llama"}'),
      'tokenizer_config.json': text('{"chat_template": "{{ messages }}"}'),
      'weights.safetensors': bytesSource(bytes),
    };
    const model = await openHuggingFaceDirectory(sourcesDirectory(files));
    expect(model.chatTemplate).toBe('{{ messages }}');
    expect(model.generationConfig).toBeUndefined();
    expect([...model.tensors.tensors.keys()]).toEqual(['w']);
    const { 'config.json': _, ...withoutConfig } = files;
    await expect(openHuggingFaceDirectory(sourcesDirectory(withoutConfig))).rejects.toSatisfy((error) =>
      StrataError.isInstance(error, 'INVALID_FILE'),
    );
    await expect(
      openHuggingFaceDirectory(sourcesDirectory({ ...files, 'config.json': text('{oops') })),
    ).rejects.toSatisfy((error) => StrataError.isInstance(error, 'INVALID_CONFIG'));
    const { 'weights.safetensors': __, ...withoutWeights } = files;
    await expect(openHuggingFaceDirectory(sourcesDirectory(withoutWeights))).rejects.toSatisfy((error) =>
      StrataError.isInstance(error, 'INVALID_FILE'),
    );
  });
});
