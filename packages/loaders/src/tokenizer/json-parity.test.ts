import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openGgufFile } from '../node/gguf-files.js';
import { tokenizerFromJson } from './json-tokenizer.js';

const fixtures = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));

/** The llama.cpp test vectors of a vocabulary: texts and expected ids. */
function readCases(name: string): { text: string; ids: number[] }[] {
  const raw = readFileSync(`${fixtures}vocab/ggml-vocab-${name}.gguf.inp`, 'utf8');
  const lines = readFileSync(`${fixtures}vocab/ggml-vocab-${name}.gguf.out`, 'utf8').split('\n');
  const texts = raw.split('\n__ggml_vocab_test__\n');
  if (texts.at(-1) === '') texts.pop();
  return texts.map((text, index) => ({
    text,
    ids: (lines[index] ?? '').trim().split(' ').filter(Boolean).map(Number),
  }));
}

/**
 * A Hugging Face tokenizer.json rebuilt from a byte-level GGUF vocabulary (tokens and merges), with the
 * pre-tokenizer the original model's tokenizer.json declares.
 */
async function rebuiltJson(name: string, preTokenizer: unknown): Promise<unknown> {
  const metadata = (await openGgufFile(`${fixtures}vocab/ggml-vocab-${name}.gguf`)).metadata;
  const tokens = metadata.get('tokenizer.ggml.tokens', 'stringArray');
  const types = metadata.get('tokenizer.ggml.token_type', 'int32Array');
  const merges = metadata.get('tokenizer.ggml.merges', 'stringArray');
  const special = tokens.flatMap((content, id) =>
    types[id] === 3
      ? [{ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }]
      : [],
  );
  return {
    version: '1.0',
    added_tokens: special,
    normalizer: null,
    pre_tokenizer: preTokenizer,
    post_processor: null,
    decoder: { type: 'ByteLevel', add_prefix_space: true, trim_offsets: true, use_regex: true },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: null,
      continuing_subword_prefix: '',
      end_of_word_suffix: '',
      fuse_unk: false,
      byte_fallback: false,
      vocab: Object.fromEntries(tokens.map((token, id) => [token, id])),
      merges: [...merges],
    },
  };
}

const BYTE_LEVEL = { type: 'ByteLevel', add_prefix_space: false, trim_offsets: true, use_regex: true };

describe('tokenizer.json path on real vocabularies (rebuilt from the GGUF fixtures)', () => {
  it('gpt-2 (ByteLevel pre-tokenizer) reproduces all llama.cpp test vectors', async () => {
    const tokenizer = tokenizerFromJson(await rebuiltJson('gpt-2', BYTE_LEVEL));
    const failures = readCases('gpt-2').filter(
      ({ text, ids }) => JSON.stringify(tokenizer.encode(text)) !== JSON.stringify(ids),
    );
    expect(failures.map(({ text }) => text)).toEqual([]);
  });

  it('starcoder (Digits then ByteLevel) reproduces all llama.cpp test vectors and decodes them back', async () => {
    const pre = {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Digits', individual_digits: true },
        { ...BYTE_LEVEL, use_regex: true },
      ],
    };
    const tokenizer = tokenizerFromJson(await rebuiltJson('starcoder', pre));
    const cases = readCases('starcoder');
    const failures = cases.filter(({ text, ids }) => JSON.stringify(tokenizer.encode(text)) !== JSON.stringify(ids));
    expect(failures.map(({ text }) => text)).toEqual([]);
    for (const { text, ids } of cases) expect(tokenizer.decode(ids)).toBe(text);
  });

  it('falcon (contiguous Punctuation, ByteLevel, Digits, 3-digit Split) reproduces all llama.cpp test vectors', async () => {
    const pre = {
      type: 'Sequence',
      pretokenizers: [
        { type: 'Punctuation', behavior: 'Contiguous' },
        BYTE_LEVEL,
        { type: 'Digits', individual_digits: false },
        { type: 'Split', pattern: { Regex: '[0-9][0-9][0-9]' }, behavior: 'Isolated', invert: false },
      ],
    };
    const tokenizer = tokenizerFromJson(await rebuiltJson('falcon', pre));
    const failures = readCases('falcon').filter(
      ({ text, ids }) => JSON.stringify(tokenizer.encode(text)) !== JSON.stringify(ids),
    );
    expect(failures.map(({ text }) => text)).toEqual([]);
  });
});

describe('tokenizer.json pre-tokenizers run as the Rust library runs them', () => {
  const vocabulary = ['a', 'b', '.', '..', '½', '1', '12', '2', '½1'];
  const make = (preTokenizer: unknown) =>
    tokenizerFromJson({
      version: '1.0',
      added_tokens: [],
      normalizer: null,
      pre_tokenizer: preTokenizer,
      post_processor: null,
      decoder: null,
      model: {
        type: 'BPE',
        dropout: null,
        unk_token: null,
        fuse_unk: false,
        byte_fallback: false,
        vocab: Object.fromEntries(vocabulary.map((piece, id) => [piece, id])),
        merges: ['. .', '1 2', '½ 1'],
      },
    });

  it('Punctuation keeps each mark apart by default (isolated) and merges runs when contiguous', () => {
    expect(make({ type: 'Punctuation' }).encode('a..b')).toEqual([0, 2, 2, 1]);
    expect(make({ type: 'Punctuation', behavior: 'Contiguous' }).encode('a..b')).toEqual([0, 3, 1]);
  });

  it('Digits treats every Unicode number as a digit', () => {
    expect(make({ type: 'Digits', individual_digits: true }).encode('12½')).toEqual([5, 7, 4]);
    expect(make({ type: 'Digits', individual_digits: false }).encode('a12')).toEqual([0, 6]);
    expect(make({ type: 'Digits', individual_digits: false }).encode('a½1')).toEqual([0, 8]);
  });
});
