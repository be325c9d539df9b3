import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { openGgufFile } from '../node/gguf-files.js';
import { SentencePieceEncoder, encodeSentencePiece } from './sentencepiece.js';

const fixtures = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));
const SAMPLE = [
  'The quick brown fox — jumps over   the lazy dog.\n\n',
  "def f(x):\n    return x**2  # don't\n\t\tend",
  'Съешь же ещё этих мягких булок 我们今天去公园散步 😀🦙👩‍💻 3.14159 2026-11-22',
  '  leading and trailing spaces  ',
].join(' ');

describe.each(['llama-spm', 'phi-3'])('SentencePiece word splitting (%s)', (name) => {
  it('gives exactly the ids of merging over the whole text', async () => {
    const metadata = (await openGgufFile(`${fixtures}vocab/ggml-vocab-${name}.gguf`)).metadata;
    const tokens = metadata.get('tokenizer.ggml.tokens', 'stringArray');
    const vocabulary = {
      tokenIds: new Map(tokens.map((text, id) => [text, id])),
      scores: metadata.get('tokenizer.ggml.scores', 'float32Array'),
      unknownId: 0,
    };
    const text = `\u2581${SAMPLE.repeat(3)}`.replaceAll(' ', '\u2581');
    const whole: number[] = [];
    encodeSentencePiece(text, vocabulary, whole);
    const byWords: number[] = [];
    const encoder = new SentencePieceEncoder(vocabulary);
    expect(encoder.splitsWords).toBe(true);
    encoder.encode(text, byWords);
    expect(byWords).toEqual(whole);
    expect(whole.length).toBeGreaterThan(100);
  });
});
