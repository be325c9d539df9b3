import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { StrataError } from '@strata/core';
import { beforeAll, describe, expect, it } from 'vitest';
import { openGgufFile } from '../node/gguf-files.js';
import { tokenizerFromGguf } from './gguf-tokenizer.js';
import type { Tokenizer } from './tokenizer.js';

const fixtures = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));
const vocabularies = readdirSync(`${fixtures}vocab`)
  .filter((name) => name.endsWith('.gguf'))
  .map((name) => name.slice('ggml-vocab-'.length, -'.gguf'.length));

/** llama.cpp's test-tokenizer-0 format: texts joined by "\n__ggml_vocab_test__\n", one line of ids per text. */
function readCases(name: string): { text: string; ids: number[] }[] {
  const raw = readFileSync(`${fixtures}vocab/ggml-vocab-${name}.gguf.inp`, 'utf8');
  const lines = readFileSync(`${fixtures}vocab/ggml-vocab-${name}.gguf.out`, 'utf8').split('\n');
  const separator = '\n__ggml_vocab_test__\n';
  const texts: string[] = [];
  for (let position = 0; position < raw.length; ) {
    const next = raw.indexOf(separator, position);
    if (next === -1) {
      texts.push(raw.slice(position));
      break;
    }
    texts.push(raw.slice(position, next));
    position = next + separator.length;
  }
  return texts.map((text, index) => ({
    text,
    ids: (lines[index] ?? '').trim().split(' ').filter(Boolean).map(Number),
  }));
}

describe.each(vocabularies)('GGUF vocabulary %s against llama.cpp test vectors', (name) => {
  let tokenizer: Tokenizer;
  const cases = readCases(name);

  beforeAll(async () => {
    const file = await openGgufFile(`${fixtures}vocab/ggml-vocab-${name}.gguf`);
    tokenizer = tokenizerFromGguf(file.metadata);
  });

  it('has the expected number of test texts', () => {
    expect(cases.length).toBe(46);
  });

  it('encodes every text exactly (no BOS, specials not parsed)', () => {
    const failures = cases.filter(({ text, ids }) => JSON.stringify(tokenizer.encode(text)) !== JSON.stringify(ids));
    expect(failures.map(({ text }) => text)).toEqual([]);
  });

  it('decodes every encoding back to its text', () => {
    for (const { text, ids } of cases) expect(tokenizer.decode(ids)).toBe(text);
  });

  it('streams every encoding to the same text, one id at a time', () => {
    for (const { text, ids } of cases) {
      const stream = tokenizer.createStreamDecoder({ atTextStart: true });
      let streamed = '';
      for (const id of ids) {
        const part = stream.push(id);
        expect(part).not.toContain('\uFFFD');
        streamed += part;
      }
      expect(streamed + stream.flush()).toBe(text);
    }
  });

  it('adds BOS only when asked and declared, and rejects ids outside the vocabulary', () => {
    const plain = tokenizer.encode('Hello world');
    const framed = tokenizer.encode('Hello world', { addSpecial: true });
    expect(framed.length).toBe(plain.length + (tokenizer.addBos ? 1 : 0) + (tokenizer.addEos ? 1 : 0));
    if (tokenizer.addBos) expect(framed[0]).toBe(tokenizer.specialTokens.bos);
    expect(() => tokenizer.tokenToPiece(tokenizer.vocabularySize)).toThrowError(
      expect.objectContaining({ code: 'TOKEN_OUT_OF_RANGE' }),
    );
    expect(() => tokenizer.decode([-1])).toThrow(StrataError);
  });
});

describe('GGUF special tokens', () => {
  it('llama-spm: BOS/EOS/UNK from metadata, add_bos, EOS ends generation, control text only parsed when asked', async () => {
    const file = await openGgufFile(`${fixtures}vocab/ggml-vocab-llama-spm.gguf`);
    const tokenizer = tokenizerFromGguf(file.metadata);
    expect(tokenizer.kind).toBe('llama');
    expect(tokenizer.vocabularySize).toBe(32000);
    expect(tokenizer.specialTokens).toMatchObject({ bos: 1, eos: 2, unknown: 0 });
    expect(tokenizer.addBos).toBe(true);
    expect(tokenizer.isEndOfGeneration(2)).toBe(true);
    expect(tokenizer.encode('a</s>b', { parseSpecial: true })).toContain(2);
    expect(tokenizer.encode('a</s>b')).not.toContain(2);
    expect(tokenizer.decode([1, ...tokenizer.encode('Hi'), 2])).toBe('<s> Hi</s>');
    expect(tokenizer.decode([1, ...tokenizer.encode('Hi'), 2], { skipSpecial: true })).toBe('Hi');
    expect(tokenizer.tokenToPiece(13)).toBe('<0x0A>');
    expect([...tokenizer.tokenToBytes(13)]).toEqual([10]);
  });

  it('phi-3: <|end|> and <|endoftext|> end generation; specials swallow the spaces after them', async () => {
    const file = await openGgufFile(`${fixtures}vocab/ggml-vocab-phi-3.gguf`);
    const tokenizer = tokenizerFromGguf(file.metadata);
    const end = tokenizer.pieceToToken('<|end|>') as number;
    expect(tokenizer.endOfGenerationIds).toContain(end);
    expect(tokenizer.endOfGenerationIds).toContain(tokenizer.specialTokens.eos);
    const user = tokenizer.pieceToToken('<|user|>') as number;
    expect(tokenizer.encode('<|user|>\nHi<|end|>', { parseSpecial: true })).toEqual(
      tokenizer.encode('<|user|>Hi<|end|>', { parseSpecial: true }),
    );
    expect(tokenizer.encode('<|user|>', { parseSpecial: true })).toEqual([user]);
  });

  it('gpt-2: <|endoftext|> is BOS, EOS and end of generation', async () => {
    const file = await openGgufFile(`${fixtures}vocab/ggml-vocab-gpt-2.gguf`);
    const tokenizer = tokenizerFromGguf(file.metadata);
    expect(tokenizer.kind).toBe('gpt2');
    expect(tokenizer.specialTokens.eos).toBe(50256);
    expect([...tokenizer.endOfGenerationIds]).toEqual([50256]);
    expect(tokenizer.encode('x<|endoftext|>', { parseSpecial: true })).toEqual([87, 50256]);
  });

  it('rejects an unknown tokenizer.ggml.model, naming the supported ones', () => {
    const make = () => tokenizerFromGguf({ 'tokenizer.ggml.model': 'rwkv', 'tokenizer.ggml.tokens': ['a'] });
    expect(make).toThrowError(expect.objectContaining({ code: 'UNKNOWN_TOKENIZER' }));
    expect(make).toThrowError(/llama, gpt2, bert/);
  });
});

describe('GGUF tokenizers of the fixture models', () => {
  const models = readdirSync(`${fixtures}models`).filter((name) => name !== 'quant-base');
  it.each(models)('%s: model-f32.gguf reproduces the prompt ids of expected.json', async (model) => {
    const file = await openGgufFile(`${fixtures}models/${model}/model-f32.gguf`);
    const tokenizer = tokenizerFromGguf(file.metadata);
    const expected = JSON.parse(readFileSync(`${fixtures}models/${model}/expected.json`, 'utf8'));
    expect(tokenizer.encode(expected.prompt)).toEqual(expected.prompt_token_ids_from_tokenizer);
  });
});
