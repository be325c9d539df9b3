import { describe, expect, it } from 'vitest';
import {
  SUPPORTED_PRE_TOKENIZERS,
  compileExpressions,
  preTokenizerSpec,
  splitWithExpressions,
} from './pre-tokenizers.js';

function split(pre: string, text: string): string[] {
  return splitWithExpressions(text, compileExpressions(preTokenizerSpec(pre).expressions));
}

describe('pre-tokenizers', () => {
  it('llama3 splits as Llama 3 does (pieces of llama.cpp test-tokenizer-0 vectors)', () => {
    expect(split('llama-bpe', '    Hello\n    Hello')).toEqual(['   ', ' Hello', '\n', '   ', ' Hello']);
    expect(split('llama3', '3333333')).toEqual(['333', '333', '3']);
    expect(split('llama3', '\n\n\n')).toEqual(['\n\n\n']);
    expect(split('llama3', '\t\n')).toEqual(['\t\n']);
    expect(split('llama3', " Hello World! DON'T y'all")).toEqual([' Hello', ' World', '!', ' DON', "'T", ' y', "'all"]);
    expect(split('llama3', "' era")).toEqual(["'", ' era']);
  });

  it('gpt-2 keeps one space with the next word and splits contractions', () => {
    expect(split('gpt-2', "   Hello world's  end  ")).toEqual(['  ', ' Hello', ' world', "'s", ' ', ' end', '  ']);
    expect(split('gpt-2', 'x\u00a0\u0085y')).toEqual(['x', '\u00a0', '\u0085', 'y']);
  });

  it('qwen2 isolates every digit; starcoder too, before the GPT-2 expression', () => {
    expect(split('qwen2', 'abc 12345')).toEqual(['abc', ' ', '1', '2', '3', '4', '5']);
    expect(split('starcoder', 'x=12')).toEqual(['x', '=', '1', '2']);
  });

  it('gpt-4o separates case runs and keeps contractions with their word', () => {
    expect(split('gpt-4o', "HelloWorld they're 12345")).toEqual(['Hello', 'World', " they're", ' ', '123', '45']);
  });

  it('bloom splits at punctuation and white space only', () => {
    expect(split('bloom', 'Hello, world.')).toEqual(['Hello', ',', ' world', '.']);
  });

  it('deepseek-llm keeps a space with a run of cased letters and splits CJK from it', () => {
    expect(split('deepseek-llm', 'Hello world 你好 12')).toEqual(['Hello', ' world', ' ', '你好', ' ', '12']);
    // Each expression cuts the pieces of the previous one: the ASCII class of the third splits a Greek-led word.
    expect(split('deepseek-llm', ' \u03a9mega')).toEqual([' \u03a9', 'mega']);
  });

  it('deepseek-coder isolates digits and CJK runs', () => {
    expect(split('deepseek-coder', 'ab 12你好')).toEqual(['ab', ' ', '1', '2', '你好']);
  });

  it('knows every family name and rejects an unknown one', () => {
    for (const name of SUPPORTED_PRE_TOKENIZERS)
      expect(() => compileExpressions(preTokenizerSpec(name).expressions)).not.toThrow();
    expect(() => preTokenizerSpec('no-such-pre')).toThrowError(expect.objectContaining({ code: 'UNKNOWN_TOKENIZER' }));
    expect(preTokenizerSpec(undefined)).toBe(preTokenizerSpec('default'));
  });
});
