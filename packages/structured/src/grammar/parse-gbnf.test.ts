import { StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { parseGbnf } from './parse-gbnf.js';

function errorOf(grammar: string): StrataError {
  try {
    parseGbnf(grammar);
  } catch (error) {
    if (StrataError.isInstance(error, 'INVALID_GRAMMAR')) return error;
    throw error;
  }
  throw new Error('no error');
}

describe('parseGbnf', () => {
  it('reads rules, escapes, classes, groups, repetitions and comments', () => {
    const grammar = parseGbnf(
      [
        '# arithmetic',
        'root ::= expr   # the start',
        'expr ::= term ( [-+] term )*',
        'term ::= "(" expr ")" | num',
        'num  ::= [0-9]{1,3} ( "." [0-9]+ )?',
        'esc  ::= "\\x41\\u00e9\\n" [^"\\\\\\]] .',
      ].join('\n'),
    );
    expect([...grammar.rules.keys()]).toEqual(['root', 'expr', 'term', 'num', 'esc']);
    expect(grammar.rules.get('num')).toMatchObject({
      kind: 'sequence',
      items: [
        { kind: 'repeat', min: 1, max: 3 },
        { kind: 'repeat', min: 0, max: 1 },
      ],
    });
    expect(grammar.rules.get('esc')).toMatchObject({
      kind: 'sequence',
      items: [
        { kind: 'literal', text: 'Aé\n' },
        {
          kind: 'class',
          negated: true,
          ranges: [
            [34, 34],
            [92, 92],
            [93, 93],
          ],
        },
        { kind: 'any' },
      ],
    });
  });

  it('lets alternatives continue on the next line after | and inside parentheses', () => {
    const grammar = parseGbnf('root ::= "a" |\n  "b"\nother ::= (\n  "c"\n  | "d"\n)');
    expect(grammar.rules.get('root')).toMatchObject({ kind: 'alternatives' });
    expect(grammar.rules.get('other')).toMatchObject({ kind: 'alternatives' });
  });

  it.each([
    ['root ::= "abc', 1, 10, 'unterminated string'],
    ['root ::= a\n', 1, 10, "'a' is used but never defined"],
    ['root ::= "a"\nroot ::= "b"', 2, 1, 'defined twice'],
    ['root ::= ( "a" | "b"\n', 1, 10, "expected ')'"],
    ['root ::= "a"{3,1}', 1, 13, 'maximum below its minimum'],
    ['root = "a"', 1, 6, "expected '::='"],
    ['root ::= "\\q"', 1, 11, 'unknown escape'],
    ['root ::= [z-a]', 1, 10, 'ends below its start'],
    ['item ::= "x"', 1, 1, "no 'root' rule"],
  ])('%j → INVALID_GRAMMAR at line %i, column %i', (grammar, line, column, words) => {
    const error = errorOf(grammar);
    expect(error.details).toMatchObject({ line, column });
    expect(error.message).toContain(words);
  });
});
