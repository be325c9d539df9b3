import { fileURLToPath } from 'node:url';
import { StrataError } from '@strata/core';
import { type Tokenizer, tokenizerFromGguf } from '@strata/loaders';
import { openGgufFile } from '@strata/loaders/node';
import Ajv from 'ajv';
import Ajv2020 from 'ajv/dist/2020.js';
import { beforeAll, describe, expect, it } from 'vitest';
import { allowedIds } from '../testing/allowed-ids.js';
import { createGrammarMatcher, type GrammarMatcher, isTokenAllowed } from './grammar-matcher.js';
import type { OutputConstraint } from './constraint.js';

const fixtures = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));

/** A nested schema: objects, arrays, enums, bounded numbers, required keys. */
export const NESTED_SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 12 },
    age: { type: 'integer', minimum: 0, maximum: 120 },
    role: { enum: ['admin', 'user', 'guest'] },
    scores: { type: 'array', items: { type: 'integer', minimum: -50, maximum: 50 }, minItems: 1, maxItems: 3 },
    address: {
      type: 'object',
      properties: { city: { type: 'string', maxLength: 10 }, zip: { type: 'integer', minimum: 10000, maximum: 99999 } },
      required: ['city', 'zip'],
    },
  },
  required: ['name', 'age', 'role', 'scores', 'address'],
} as const;

/** Walks the grammar choosing uniformly among allowed tokens (seeded), as a model with flat logits would. */
async function walk(tokenizer: Tokenizer, matcher: GrammarMatcher, seed: number, limit = 400): Promise<string> {
  let state = seed;
  const ids: number[] = [];
  for (let step = 0; step < limit; step++) {
    const mask = await matcher.nextTokenBitmask();
    const allowed = allowedIds(mask);
    expect(allowed.length).toBeGreaterThan(0);
    state = (state * 1103515245 + 12345) % 2 ** 31;
    const token = allowed[state % allowed.length]!;
    expect(matcher.acceptToken(token)).toBe(true);
    if (tokenizer.isEndOfGeneration(token)) return tokenizer.decode(ids);
    ids.push(token);
  }
  throw new Error(`no end after ${limit} tokens: ${tokenizer.decode(ids)}`);
}

describe('createGrammarMatcher over a real vocabulary (gpt-2)', () => {
  let tokenizer: Tokenizer;
  beforeAll(async () => {
    tokenizer = tokenizerFromGguf((await openGgufFile(`${fixtures}vocab/ggml-vocab-gpt-2.gguf`)).metadata);
  });

  it('walks of a nested JSON schema validate with ajv', async () => {
    const validate = new Ajv().compile(NESTED_SCHEMA);
    for (let seed = 1; seed <= 3; seed++) {
      const matcher = await createGrammarMatcher(tokenizer, { kind: 'json-schema', schema: NESTED_SCHEMA });
      const text = await walk(tokenizer, matcher, seed);
      matcher.dispose();
      expect(validate(JSON.parse(text)), `${text}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('walks of a schema using every supported keyword validate with ajv', async () => {
    const schema = {
      $defs: {
        point: { type: 'object', properties: { x: { type: 'integer', minimum: -9, maximum: 9 } }, required: ['x'] },
      },
      type: 'object',
      properties: {
        at: { $ref: '#/$defs/point' },
        kind: { const: 'shape' },
        label: { anyOf: [{ type: 'string', pattern: '^[a-z]{2,5}$' }, { type: 'null' }] },
        size: { oneOf: [{ type: 'integer', exclusiveMinimum: 0, exclusiveMaximum: 10 }, { enum: ['big', 'small'] }] },
        code: { type: 'string', minLength: 2, maxLength: 3 },
        pair: {
          type: 'array',
          prefixItems: [{ type: 'boolean' }, { type: 'integer', minimum: 0, maximum: 5 }],
          items: false,
        },
        flags: { type: ['array'], items: { type: 'boolean' }, minItems: 2, maxItems: 2 },
      },
      required: ['at', 'kind', 'label', 'size', 'code', 'pair', 'flags'],
      additionalProperties: false,
    };
    // prefixItems is JSON Schema 2020-12.
    const validate = new Ajv2020().compile(schema);
    for (let seed = 1; seed <= 3; seed++) {
      const matcher = await createGrammarMatcher(tokenizer, {
        kind: 'json-schema',
        schema: JSON.parse(JSON.stringify(schema)),
      });
      const text = await walk(tokenizer, matcher, seed, 600);
      matcher.dispose();
      expect(validate(JSON.parse(text)), `${text}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('rejects a token the grammar forbids and allows end-of-generation only when complete', async () => {
    const matcher = await createGrammarMatcher(tokenizer, { kind: 'grammar', grammar: 'root ::= "yes" | "no"' });
    const eos = tokenizer.specialTokens.eos!;
    expect(isTokenAllowed(await matcher.nextTokenBitmask(), eos)).toBe(false);
    expect(matcher.acceptToken(tokenizer.encode('maybe')[0]!)).toBe(false);
    for (const id of tokenizer.encode('yes')) expect(matcher.acceptToken(id)).toBe(true);
    const mask = await matcher.nextTokenBitmask();
    expect(isTokenAllowed(mask, eos)).toBe(true);
    expect(isTokenAllowed(mask, tokenizer.encode('s')[0]!)).toBe(false);
    expect(matcher.acceptToken(eos)).toBe(true);
    expect(matcher.isTerminated()).toBe(true);
    matcher.dispose();
  });

  it.each<[string, OutputConstraint, (text: string) => boolean]>([
    [
      'a regular expression',
      { kind: 'regex', pattern: '^[0-9]{3}-[a-z]{2,4}$' },
      (text) => /^[0-9]{3}-[a-z]{2,4}$/.test(text),
    ],
  ])('walks of %s match it', async (_, constraint, check) => {
    for (let seed = 1; seed <= 3; seed++) {
      const matcher = await createGrammarMatcher(tokenizer, constraint);
      const text = await walk(tokenizer, matcher, seed);
      matcher.dispose();
      expect(check(text), text).toBe(true);
    }
  });

  it.each<[string, string, (text: string) => boolean]>([
    [
      'arithmetic',
      'root ::= expr\nexpr ::= term ( [-+*/] term ){0,3}\nterm ::= [0-9]{1,3} | "(" expr ")"',
      (text) => isArithmetic(text),
    ],
    [
      'a list',
      'root ::= item ( "\\n" item ){0,4}\nitem ::= "- " [a-z]{1,8}',
      (text) => /^- [a-z]{1,8}(\n- [a-z]{1,8}){0,4}$/.test(text),
    ],
    [
      'JSON',
      [
        'root ::= object',
        'value ::= object | array | string | number | ("true" | "false" | "null")',
        'object ::= "{" ( string ": " value ( ", " string ": " value ){0,2} )? "}"',
        'array ::= "[" ( value ( ", " value ){0,2} )? "]"',
        'string ::= "\\"" [a-z ]{0,6} "\\""',
        'number ::= "-"? [0-9]{1,4}',
      ].join('\n'),
      (text) => typeof JSON.parse(text) === 'object',
    ],
    [
      'JSON written in the style of llama.cpp grammar files',
      [
        '# bodies on the next line, an empty alternative, comments inside groups',
        'root ::=',
        '  obj',
        'obj ::=',
        '  "{" ws (',
        '    key ":" ws val      # the first member',
        '    ("," ws key ":" ws val){0,2}',
        '  )? "}"',
        'key ::= "\\"" [a-z]{1,4} "\\""',
        'val ::= ( [0-9]{1,3} | "true" | key ) ws',
        'ws ::= | " "',
      ].join('\n'),
      (text) => typeof JSON.parse(text) === 'object',
    ],
  ])('GBNF walks of %s pass an independent check', async (_, grammar, check) => {
    for (let seed = 1; seed <= 4; seed++) {
      const matcher = await createGrammarMatcher(tokenizer, { kind: 'grammar', grammar });
      const text = await walk(tokenizer, matcher, seed);
      matcher.dispose();
      expect(check(text), text).toBe(true);
    }
  });

  it('json_object accepts an object token by token and rejects a bare value', async () => {
    const accepts = async (text: string) => {
      const matcher = await createGrammarMatcher(tokenizer, { kind: 'json-object' });
      const ok = tokenizer.encode(text).every((id) => matcher.acceptToken(id));
      const complete = ok && isTokenAllowed(await matcher.nextTokenBitmask(), tokenizer.specialTokens.eos!);
      matcher.dispose();
      return complete;
    };
    expect(await accepts('{"a": [1, 2.5e3, {"b": null}], "c": "x\\n"}')).toBe(true);
    expect(await accepts('[1, 2]')).toBe(false);
    expect(await accepts('{"a": 1')).toBe(false);
  });

  it('rejects fractional number ranges instead of enforcing them loosely', async () => {
    const error = await createGrammarMatcher(tokenizer, {
      kind: 'json-schema',
      schema: { type: 'number', maximum: 1 },
    }).catch((e: unknown) => e);
    expect((error as StrataError).details).toMatchObject({ keyword: 'maximum' });
  });

  it('names an unsupported schema keyword and the position of a grammar error', async () => {
    const schemaError = await createGrammarMatcher(tokenizer, {
      kind: 'json-schema',
      schema: { type: 'object', properties: { a: { type: 'string', format: 'email' } } },
    }).catch((error: unknown) => error);
    expect(StrataError.isInstance(schemaError, 'UNSUPPORTED_SCHEMA')).toBe(true);
    expect((schemaError as StrataError).details).toMatchObject({ keyword: 'format', path: '#/properties/a/format' });
    const grammarError = await createGrammarMatcher(tokenizer, {
      kind: 'grammar',
      grammar: 'root ::= item+\nitem ::= "a" | [b-\n',
    }).catch((error: unknown) => error);
    expect(StrataError.isInstance(grammarError, 'INVALID_GRAMMAR')).toBe(true);
    expect((grammarError as StrataError).details).toMatchObject({ line: 2, column: 16 });
    const regexError = await createGrammarMatcher(tokenizer, { kind: 'regex', pattern: 'a(?=b)' }).catch(
      (e: unknown) => e,
    );
    expect((regexError as StrataError).details).toMatchObject({ column: 2 });
    const referenceError = await createGrammarMatcher(tokenizer, {
      kind: 'json-schema',
      schema: { type: 'object', properties: { a: { $ref: '#/$defs/missing' } } },
    }).catch((e: unknown) => e);
    expect((referenceError as StrataError).details).toMatchObject({ keyword: '$ref', path: '#/properties/a/$ref' });
  });
});

/** An independent recursive-descent check of `expr := term (op term)*`, `term := digits | (expr)`. */
function isArithmetic(text: string): boolean {
  let position = 0;
  const term = (): boolean => {
    if (text[position] === '(') {
      position++;
      if (!expression() || text[position] !== ')') return false;
      position++;
      return true;
    }
    const start = position;
    while (position < text.length && /[0-9]/.test(text[position]!)) position++;
    return position > start;
  };
  const expression = (): boolean => {
    if (!term()) return false;
    while (position < text.length && '+-*/'.includes(text[position]!)) {
      position++;
      if (!term()) return false;
    }
    return true;
  };
  return expression() && position === text.length;
}
