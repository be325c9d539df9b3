import { describe, expect, it } from 'vitest';
import { tokenizerFromGguf } from './gguf-tokenizer.js';
import { bertWords } from './wordpiece.js';

describe('BERT WordPiece from GGUF metadata (tokenizer.ggml.model = bert)', () => {
  // llama.cpp's converter writes word-initial pieces with a ▁ prefix and continuation pieces without "##".
  const tokens = ['[PAD]', '[UNK]', '[CLS]', '[SEP]', '[MASK]', '▁hello', 's', '▁world', '▁!', '▁cafe', '▁你'];
  const tokenizer = tokenizerFromGguf({
    'tokenizer.ggml.model': 'bert',
    'tokenizer.ggml.tokens': tokens,
    'tokenizer.ggml.token_type': Int32Array.from([3, 2, 3, 3, 3, 1, 1, 1, 1, 1, 1]),
    'tokenizer.ggml.unknown_token_id': 1,
    'tokenizer.ggml.seperator_token_id': 3,
    'tokenizer.ggml.padding_token_id': 0,
    'tokenizer.ggml.cls_token_id': 2,
    'tokenizer.ggml.bos_token_id': 2,
    'tokenizer.ggml.mask_token_id': 4,
  });

  it('lower-cases, strips accents, isolates punctuation and CJK, longest match first', () => {
    expect(tokenizer.kind).toBe('bert');
    expect(tokenizer.encode('Hellos World!')).toEqual([5, 6, 7, 8]);
    expect(tokenizer.encode('Café 你')).toEqual([9, 10]);
  });

  it('turns a word with an unmatched rest into one unknown token, and frames with CLS … SEP', () => {
    expect(tokenizer.encode('hello zzz world', { addSpecial: true })).toEqual([2, 5, 1, 7, 3]);
    expect(tokenizer.specialTokens).toMatchObject({ bos: 2, separator: 3, unknown: 1, padding: 0, mask: 4 });
  });

  it('decodes pieces with spaces between words', () => {
    expect(tokenizer.decode([2, 5, 6, 7, 3], { skipSpecial: true })).toBe('hellos world');
  });
});

describe('BERT class token', () => {
  it('takes tokenizer.ggml.cls_token_id as BOS when no bos_token_id is given', () => {
    const tokenizer = tokenizerFromGguf({
      'tokenizer.ggml.model': 'bert',
      'tokenizer.ggml.tokens': ['[PAD]', '[UNK]', '[SEP]', '[CLS]', '▁hi'],
      'tokenizer.ggml.token_type': Int32Array.from([3, 2, 3, 3, 1]),
      'tokenizer.ggml.unknown_token_id': 1,
      'tokenizer.ggml.seperator_token_id': 2,
      'tokenizer.ggml.cls_token_id': 3,
    });
    expect(tokenizer.encode('hi', { addSpecial: true })).toEqual([3, 4, 2]);
  });
});

describe('bertWords', () => {
  it('drops control characters and splits on white space, punctuation and ASCII symbols', () => {
    expect(bertWords('a\u0000b  c+d,e\u00e9', { lowercase: false, stripAccents: false })).toEqual([
      'ab',
      'c',
      '+',
      'd',
      ',',
      'e\u00e9',
    ]);
  });
});
