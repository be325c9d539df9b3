import { fileURLToPath } from 'node:url';
import { StrataError } from '@strata/core';
import { type Tokenizer, tokenizerFromGguf } from '@strata/loaders';
import { openGgufFile } from '@strata/loaders/node';
import { beforeAll, describe, expect, it } from 'vitest';
import { createGrammarMatcher } from '../matcher/grammar-matcher.js';
import { jsonSafePattern } from './json-safe-pattern.js';

const fixtures = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));

describe('jsonSafePattern', () => {
  it('matches the same JSON-safe strings as the original pattern, and no character a JSON string must escape', () => {
    const samples = ['abc', 'a b', 'x"y', 'q\\r', 'new\nline', 'tab\there', '~!', '', 'A1_', 'é'];
    for (const pattern of ['^.{0,3}$', '^[^a]+$', '^[ -~]{1,4}$', '^\\S+$', '^[\\w ]*$', '^\\D*$', '^\\W?\\w+$']) {
      const original = new RegExp(pattern, 'u');
      const safe = new RegExp(jsonSafePattern(pattern, '#/pattern'), 'u');
      for (const sample of samples) {
        const allowedByJson = [...sample].every(
          (character) => character !== '"' && character !== '\\' && character >= ' ',
        );
        expect(safe.test(sample), `${pattern} on ${JSON.stringify(sample)}`).toBe(
          original.test(sample) && allowedByJson,
        );
      }
    }
    // \s keeps only the space (tabs and newlines would need escaping).
    const space = new RegExp(jsonSafePattern('^a\\sb$', '#/pattern'), 'u');
    expect([space.test('a b'), space.test('a\tb'), space.test('a\nb')]).toEqual([true, false, false]);
  });

  it('refuses a pattern that needs a quote, a backslash or a control character', () => {
    for (const pattern of ['^"a"$', '^a\\\\b$', '^a\\nb$', '^["]$']) {
      expect(() => jsonSafePattern(pattern, '#/pattern'), pattern).toThrow(
        expect.objectContaining({ code: 'UNSUPPORTED_SCHEMA', details: { path: '#/pattern', keyword: 'pattern' } }),
      );
    }
    expect(StrataError.isInstance(new StrataError('UNSUPPORTED_SCHEMA', 'x'))).toBe(true);
  });

  describe('through the matcher (gpt-2 vocabulary)', () => {
    let tokenizer: Tokenizer;
    beforeAll(async () => {
      tokenizer = tokenizerFromGguf((await openGgufFile(`${fixtures}vocab/ggml-vocab-gpt-2.gguf`)).metadata);
    });

    it.each([
      ['^.{0,3}$', '"a"b"', false],
      ['^.{0,3}$', '"\n"', false],
      ['^.{0,3}$', '"a b"', true],
      ['^[ -~]{1,4}$', '"x\\\\"', false],
      ['^[ -~]{1,4}$', '"x~!"', true],
    ])('pattern %s on %j: %s', async (pattern, text, accepted) => {
      const matcher = await createGrammarMatcher(tokenizer, {
        kind: 'json-schema',
        schema: { type: 'string', pattern },
      });
      const ids = tokenizer.encode(text);
      const ok = ids.every((id) => matcher.acceptToken(id)) && tokenizer.specialTokens.eos !== undefined;
      matcher.dispose();
      expect(ok).toBe(accepted);
    });
  });
});
