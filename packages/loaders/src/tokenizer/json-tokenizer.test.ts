import { readFileSync, readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { tokenizerFromJson } from './json-tokenizer.js';
import type { Tokenizer } from './tokenizer.js';

const fixtures = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));
const models = readdirSync(`${fixtures}models`);

function readJson(path: string): never {
  return JSON.parse(readFileSync(path, 'utf8')) as never;
}

function load(model: string): Tokenizer {
  const folder = `${fixtures}models/${model}/`;
  return tokenizerFromJson(
    readJson(`${folder}tokenizer.json`),
    readJson(`${folder}tokenizer_config.json`),
    readJson(`${folder}generation_config.json`),
  );
}

function stream(tokenizer: Tokenizer, ids: readonly number[]): string {
  const decoder = tokenizer.createStreamDecoder({ atTextStart: true });
  let text = '';
  for (const id of ids) {
    const part = decoder.push(id);
    expect(part).not.toContain('\uFFFD');
    text += part;
  }
  return text + decoder.flush();
}

describe.each(models)('tokenizer.json of %s', (model) => {
  const expected = readJson(`${fixtures}models/${model}/expected.json`) as {
    prompt: string;
    input_ids: number[];
    prompt_token_ids_from_tokenizer: number[];
    chat_example: { rendered?: string; text?: string } & Record<string, unknown>;
  };

  it('reproduces the prompt ids of expected.json, and input_ids as their prefix', () => {
    const tokenizer = load(model);
    const ids = tokenizer.encode(expected.prompt);
    expect(ids).toEqual(expected.prompt_token_ids_from_tokenizer);
    expect(ids.slice(0, expected.input_ids.length)).toEqual(expected.input_ids);
  });

  it('decodes the ids back to the prompt, whole and streamed', () => {
    const tokenizer = load(model);
    const ids = expected.prompt_token_ids_from_tokenizer;
    expect(tokenizer.decode(ids)).toBe(expected.prompt);
    expect(stream(tokenizer, ids)).toBe(expected.prompt);
  });
});

describe('tokenizer.json special tokens (ChatML fixture)', () => {
  const tokenizer = load('llama');

  it('reads BOS/EOS/pad from tokenizer_config.json and ends generation on <|im_end|> and <|endoftext|>', () => {
    expect(tokenizer.kind).toBe('tokenizer.json');
    expect(tokenizer.vocabularySize).toBe(384);
    expect(tokenizer.specialTokens).toMatchObject({ bos: 0, eos: 2, padding: 0, eot: 2 });
    expect(tokenizer.isEndOfGeneration(2)).toBe(true);
    expect(tokenizer.isEndOfGeneration(0)).toBe(true);
    expect(tokenizer.isEndOfGeneration(1)).toBe(false);
    expect(tokenizer.addBos).toBe(false);
  });

  it('parses <|im_start|> and <|im_end|> only when asked', () => {
    const text = '<|im_start|>user\nhi<|im_end|>';
    const parsed = tokenizer.encode(text, { parseSpecial: true });
    expect(parsed[0]).toBe(1);
    expect(parsed.at(-1)).toBe(2);
    const plain = tokenizer.encode(text);
    expect(plain).not.toContain(1);
    expect(plain).not.toContain(2);
    expect(tokenizer.decode(plain)).toBe(text);
    expect(tokenizer.decode(parsed)).toBe(text);
    expect(tokenizer.decode(parsed, { skipSpecial: true })).toBe('user\nhi');
  });

  it('names pieces and rejects ids outside the vocabulary', () => {
    expect(tokenizer.tokenToPiece(2)).toBe('<|im_end|>');
    expect(tokenizer.pieceToToken('<|im_end|>')).toBe(2);
    expect(() => tokenizer.tokenToPiece(384)).toThrowError(expect.objectContaining({ code: 'TOKEN_OUT_OF_RANGE' }));
    expect(() => tokenizer.decode([0, 1000])).toThrowError(expect.objectContaining({ code: 'TOKEN_OUT_OF_RANGE' }));
  });
});

/** A tiny SentencePiece-style BPE (Metaspace, byte fallback) in the layout of Llama/Mistral tokenizer.json files. */
function sentencePieceJson() {
  const vocab: Record<string, number> = { '<unk>': 0, '<s>': 1, '</s>': 2 };
  for (let byte = 0; byte < 256; byte++) vocab[`<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`] = 3 + byte;
  for (const piece of ['▁', 'h', 'i', '▁h', '▁hi', 'e', 'y', '▁he', '▁hey']) vocab[piece] = Object.keys(vocab).length;
  return {
    version: '1.0',
    added_tokens: ['<unk>', '<s>', '</s>'].map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'Sequence',
      normalizers: [
        { type: 'Prepend', prepend: '▁' },
        { type: 'Replace', pattern: { String: ' ' }, content: '▁' },
      ],
    },
    pre_tokenizer: null,
    post_processor: {
      type: 'TemplateProcessing',
      single: [{ SpecialToken: { id: '<s>', type_id: 0 } }, { Sequence: { id: 'A', type_id: 0 } }],
      pair: [],
      special_tokens: { '<s>': { id: '<s>', ids: [1], tokens: ['<s>'] } },
    },
    decoder: {
      type: 'Sequence',
      decoders: [
        { type: 'Replace', pattern: { String: '▁' }, content: ' ' },
        { type: 'ByteFallback' },
        { type: 'Fuse' },
        { type: 'Strip', content: ' ', start: 1, stop: 0 },
      ],
    },
    model: {
      type: 'BPE',
      dropout: null,
      unk_token: '<unk>',
      continuing_subword_prefix: null,
      end_of_word_suffix: null,
      fuse_unk: true,
      byte_fallback: true,
      vocab,
      merges: ['▁ h', '▁h i', 'h e', '▁h e', '▁he y'],
    },
  };
}

describe('tokenizer.json: SentencePiece-style BPE with byte fallback', () => {
  const tokenizer = tokenizerFromJson(sentencePieceJson(), { bos_token: '<s>', eos_token: '</s>', unk_token: '<unk>' });
  const hi = tokenizer.pieceToToken('▁hi') as number;
  const hey = tokenizer.pieceToToken('▁hey') as number;
  const space = tokenizer.pieceToToken('▁') as number;
  const emoji = [0xf0, 0x9f, 0x98, 0x80].map((byte) => 3 + byte);

  it('encodes with the ▁ prefix, merges, and <0xXX> tokens for unknown characters; BOS from the template', () => {
    expect(tokenizer.encode('hi hey 😀')).toEqual([hi, hey, space, ...emoji]);
    expect(tokenizer.encode('hi', { addSpecial: true })).toEqual([1, hi]);
    expect(tokenizer.addBos).toBe(true);
  });

  it('decodes bytes back to characters, whole and streamed without broken characters', () => {
    const ids = [hi, hey, space, ...emoji];
    expect(tokenizer.decode(ids)).toBe('hi hey 😀');
    expect(stream(tokenizer, ids)).toBe('hi hey 😀');
    const continuation = tokenizer.createStreamDecoder();
    expect(emoji.map((id) => continuation.push(id))).toEqual(['', '', '', '😀']);
    expect(continuation.push(hi)).toBe(' hi');
  });

  it('holds back a broken UTF-8 sequence until the end, then flushes it as U+FFFD', () => {
    const decoder = tokenizer.createStreamDecoder();
    expect(decoder.push(3 + 0xf0)).toBe('');
    expect(decoder.push(3 + 0x9f)).toBe('');
    expect(decoder.flush()).toBe('\uFFFD');
  });
});

describe('tokenizer.json: WordPiece (BERT)', () => {
  const vocab = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', 'hello', '##s', 'world', '!'];
  const json = {
    version: '1.0',
    added_tokens: ['[PAD]', '[UNK]', '[CLS]', '[SEP]'].map((content, id) => ({
      id,
      content,
      single_word: false,
      lstrip: false,
      rstrip: false,
      normalized: false,
      special: true,
    })),
    normalizer: {
      type: 'BertNormalizer',
      clean_text: true,
      handle_chinese_chars: true,
      strip_accents: null,
      lowercase: true,
    },
    pre_tokenizer: { type: 'BertPreTokenizer' },
    post_processor: { type: 'BertProcessing', sep: ['[SEP]', 3], cls: ['[CLS]', 2] },
    decoder: { type: 'WordPiece', prefix: '##', cleanup: true },
    model: {
      type: 'WordPiece',
      unk_token: '[UNK]',
      continuing_subword_prefix: '##',
      max_input_chars_per_word: 100,
      vocab: Object.fromEntries(vocab.map((piece, id) => [piece, id])),
    },
  };
  const tokenizer = tokenizerFromJson(json, { cls_token: '[CLS]', sep_token: '[SEP]', unk_token: '[UNK]' });

  it('lower-cases, splits punctuation, finds ##-continuations, and frames with CLS/SEP when asked', () => {
    expect(tokenizer.encode('Hellos World!')).toEqual([4, 5, 6, 7]);
    expect(tokenizer.encode('Hellos zzz', { addSpecial: true })).toEqual([2, 4, 5, 1, 3]);
    expect(tokenizer.specialTokens.unknown).toBe(1);
    expect(tokenizer.decode([4, 5, 6])).toBe('hellos world');
    expect(stream(tokenizer, [4, 5, 6])).toBe('hellos world');
  });
});

describe('tokenizer.json stream decoding agrees with decode', () => {
  /** Deterministic pseudo-random ids, so a failure reproduces. */
  function randomIds(count: number, size: number, seed: number, exclude: ReadonlySet<number>): number[] {
    let state = seed;
    const ids: number[] = [];
    while (ids.length < count) {
      state = (Math.imul(state, 1103515245) + 12345) >>> 0;
      const id = state % size;
      if (!exclude.has(id)) ids.push(id);
    }
    return ids;
  }

  it.each([
    ['byte-level BPE', () => load('llama')],
    ['SentencePiece-style BPE', () => tokenizerFromJson(sentencePieceJson(), { bos_token: '<s>', eos_token: '</s>' })],
  ] as const)('%s: random id sequences stream to the decoded text', (_, make) => {
    const tokenizer = make();
    const specials = new Set([0, 1, 2]);
    for (let trial = 0; trial < 30; trial++) {
      const ids = randomIds(40, tokenizer.vocabularySize, trial + 1, specials);
      const decoder = tokenizer.createStreamDecoder({ atTextStart: true });
      const streamed = ids.map((id) => decoder.push(id)).join('') + decoder.flush();
      expect(streamed).toBe(tokenizer.decode(ids));
    }
  });
});
