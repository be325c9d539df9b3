import { describe, expect, it } from 'vitest';
import { tokenizerFromGguf } from './gguf-tokenizer.js';

/** A tiny SentencePiece vocabulary in GGUF form (token types: 1 normal, 2 unknown, 3 control, 4 user-defined, 6 byte). */
function metadata(extra: Record<string, unknown> = {}): Record<string, unknown> {
  const entries: [string, number, number][] = [
    ['<unk>', 2, 0],
    ['<s>', 3, 0],
    ['</s>', 3, 0],
    ['<0x0A>', 6, 0],
    ['<0xE2>', 6, 0],
    ['<0x82>', 6, 0],
    ['<0xAC>', 6, 0],
    ['▁', 1, -3],
    ['a', 1, -3],
    ['b', 1, -3],
    ['▁a', 1, -1],
    ['ab', 1, -2],
    ['▁ab', 1, -0.5],
    ['<|eot_id|>', 1, 0],
    ['<user>', 4, 0],
    ['<|fim_pad|>', 1, 0],
  ];
  return {
    'tokenizer.ggml.model': 'llama',
    'tokenizer.ggml.tokens': entries.map(([text]) => text),
    'tokenizer.ggml.token_type': Int32Array.from(entries.map(([, type]) => type)),
    'tokenizer.ggml.scores': Float32Array.from(entries.map(([, , score]) => score)),
    ...extra,
  };
}

describe('GGUF SentencePiece (llama) rules', () => {
  const tokenizer = tokenizerFromGguf(metadata());

  it('merges the best-scored pair first, after the space prefix', () => {
    expect(tokenizer.encode('ab')).toEqual([12]);
    expect(tokenizerFromGguf(metadata({ 'tokenizer.ggml.add_space_prefix': false })).encode('ab')).toEqual([11]);
  });

  it('spells characters missing from the vocabulary as <0xXX> tokens, else the unknown token', () => {
    expect(tokenizer.encode('a€\n')).toEqual([10, 4, 5, 6, 3]);
    expect(tokenizer.encode('c')).toEqual([7, 0]);
  });

  it('always recognises user-defined tokens, and prefixes the text after a special with a space', () => {
    expect(tokenizer.encode('a<user>b')).toEqual([10, 14, 7, 9]);
  });

  it('finds end-of-turn and FIM tokens by their text, makes them control tokens, and ends generation on them', () => {
    expect(tokenizer.specialTokens).toMatchObject({ bos: 1, eos: 2, unknown: 0, eot: 13 });
    expect([...tokenizer.endOfGenerationIds].sort((a, b) => a - b)).toEqual([2, 13, 15]);
    expect(tokenizer.encode('<|eot_id|>')).not.toContain(13);
    expect(tokenizer.encode('<|eot_id|>', { parseSpecial: true })).toEqual([13]);
    expect(tokenizer.decode([10, 13])).toBe('a<|eot_id|>');
    expect(tokenizer.decode([10, 13], { skipSpecial: true })).toBe('a');
  });

  it('adds BOS by default for llama, unless the metadata says otherwise; EOS when asked', () => {
    expect(tokenizer.encode('a', { addSpecial: true })).toEqual([1, 10]);
    const custom = tokenizerFromGguf(
      metadata({ 'tokenizer.ggml.add_bos_token': false, 'tokenizer.ggml.add_eos_token': true }),
    );
    expect(custom.encode('a', { addSpecial: true })).toEqual([10, 2]);
    expect(tokenizer.encode('', { addSpecial: true })).toEqual([1]);
    expect(tokenizer.encode('')).toEqual([]);
  });

  it('decodes bytes and strips the space prefix of the first piece only', () => {
    expect(tokenizer.decode([10, 4, 5, 6])).toBe('a€');
    expect(tokenizer.decode([1, 10, 10])).toBe('<s> a a');
    expect(tokenizer.decode([1, 10, 10], { skipSpecial: true })).toBe('a a');
    const continuation = tokenizer.createStreamDecoder();
    expect([10, 4, 5, 6].map((id) => continuation.push(id))).toEqual([' a', '', '', '€']);
  });

  it('reports missing and malformed metadata with stable codes', () => {
    expect(() => tokenizerFromGguf({})).toThrowError(expect.objectContaining({ code: 'MISSING_METADATA' }));
    expect(() => tokenizerFromGguf({ 'tokenizer.ggml.model': 'llama' })).toThrowError(
      expect.objectContaining({ code: 'MISSING_METADATA' }),
    );
    expect(() => tokenizerFromGguf(metadata({ 'tokenizer.ggml.tokens': 'abc' }))).toThrowError(
      expect.objectContaining({ code: 'INVALID_METADATA' }),
    );
    expect(() =>
      tokenizerFromGguf({
        'tokenizer.ggml.model': 'gpt2',
        'tokenizer.ggml.tokens': ['a'],
        'tokenizer.ggml.pre': 'nope',
      }),
    ).toThrowError(expect.objectContaining({ code: 'UNKNOWN_TOKENIZER' }));
  });
});
