import { describe, expect, it } from 'vitest';
import { BytePairEncoder, hexByteToken } from './bpe.js';
import { byteToCharacter, characterToByte, toByteLevel } from './unicode.js';

function encoder(
  tokens: string[],
  merges: string[],
  ignoreMerges = false,
  fallback: 'characters' | 'hex-bytes' = 'characters',
) {
  const ids = new Map(tokens.map((token, id) => [token, id]));
  const ranks = new Map(merges.map((merge, rank) => [merge, rank]));
  return (piece: string) => {
    const output: number[] = [];
    new BytePairEncoder(ids, ranks, { ignoreMerges, fallback }).encode(piece, output);
    return output.map((id) => tokens[id]);
  };
}

describe('BytePairEncoder', () => {
  it('merges by rank, leftmost first on ties', () => {
    expect(encoder(['a', 'b', 'c', 'ab', 'bc'], ['b c', 'a b'])('abc')).toEqual(['a', 'bc']);
    expect(encoder(['a', 'aa'], ['a a'])('aaa')).toEqual(['aa', 'a']);
    expect(encoder(['a', 'aa', 'aaaa'], ['a a', 'aa aa'])('aaaaa')).toEqual(['aaaa', 'a']);
  });

  it('takes a whole piece found in the vocabulary when merges are ignored (llama3, tekken)', () => {
    const tokens = ['a', 'b', 'c', 'ab', 'abc'];
    expect(encoder(tokens, ['a b'])('abc')).toEqual(['ab', 'c']);
    expect(encoder(tokens, ['a b'], true)('abc')).toEqual(['abc']);
  });

  it('falls back to characters, or to <0xXX> byte tokens for SentencePiece-style vocabularies', () => {
    expect(encoder(['x'], [])('xy')).toEqual(['x']);
    const bytes = Array.from({ length: 256 }, (_, byte) => hexByteToken(byte));
    expect(encoder([...bytes, 'é'], [], false, 'hex-bytes')('€é')).toEqual(['<0xE2>', '<0x82>', '<0xAC>', 'é']);
  });
});

describe('GPT-2 byte map', () => {
  it('maps printable bytes to themselves and the others above U+00FF, both ways', () => {
    expect(byteToCharacter(0x41)).toBe('A');
    expect(byteToCharacter(0x20)).toBe('Ġ');
    expect(byteToCharacter(0x0a)).toBe('Ċ');
    expect(toByteLevel(' é')).toBe('ĠÃ©');
    for (let byte = 0; byte < 256; byte++) expect(characterToByte(byteToCharacter(byte))).toBe(byte);
    expect(new Set(Array.from({ length: 256 }, (_, byte) => byteToCharacter(byte))).size).toBe(256);
  });
});
