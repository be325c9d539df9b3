import type { tokenize } from '@huggingface/jinja';

/**
 * Token passes that give the parser of `@huggingface/jinja` two pieces of jinja2 syntax it lacks.
 *
 * Tests with arguments: jinja2 lets a test take arguments: `x is divisibleby(3)`, `x is sameas false`, `x is equalto 'a'`. The parser of
 * `@huggingface/jinja` accepts only bare test names, so this token pass rewrites such a test into an equivalent filter
 * call, `x | __strata_test__('divisibleby', false, 3)`, before parsing. Filters bind to the same operand as tests (its
 * filter chain), so precedence is unchanged; the interpreter evaluates that filter as the test.
 */

type Token = ReturnType<typeof tokenize>[number];

/** The name of the filter a test with arguments becomes. */
export const TEST_FILTER = '__strata_test__';

/** Words after a test name that end it rather than start its argument (as in jinja2's parser). */
const NOT_AN_ARGUMENT = new Set(['else', 'or', 'and', 'if', 'in', 'not', 'is']);
const OPENERS: Record<string, string> = {
  OpenParen: 'CloseParen',
  OpenSquareBracket: 'CloseSquareBracket',
  OpenCurlyBracket: 'CloseCurlyBracket',
};

const token = (value: string, type: string): Token => ({ value, type }) as Token;

/** Index just past the bracket group opening at `start`. */
function skipGroup(tokens: readonly Token[], start: number): number {
  const open = tokens[start]!.type;
  const close = OPENERS[open]!;
  let depth = 0;
  for (let i = start; i < tokens.length; i++) {
    if (tokens[i]!.type === open) depth++;
    else if (tokens[i]!.type === close && --depth === 0) return i + 1;
  }
  return tokens.length;
}

/** Index just past a primary expression and its postfixes (`.name`, `[…]`, `(…)`) starting at `start`. */
function skipPrimary(tokens: readonly Token[], start: number): number {
  let end = tokens[start]!.type in OPENERS ? skipGroup(tokens, start) : start + 1;
  for (;;) {
    const next = tokens[end];
    if (next?.type === 'Dot' && tokens[end + 1]?.type === 'Identifier') end += 2;
    else if (next?.type === 'OpenSquareBracket' || next?.type === 'OpenParen') end = skipGroup(tokens, end);
    else return end;
  }
}

function startsArgument(next: Token | undefined): boolean {
  if (next === undefined) return false;
  if (next.type === 'Identifier') return !NOT_AN_ARGUMENT.has(next.value);
  return (
    next.type === 'NumericLiteral' ||
    next.type === 'StringLiteral' ||
    next.type === 'OpenSquareBracket' ||
    next.type === 'OpenCurlyBracket'
  );
}

/** Rewrites every test that has arguments into the equivalent {@link TEST_FILTER} call. */
export function rewriteTestArguments(tokens: readonly Token[]): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const current = tokens[i]!;
    if (current.type !== 'Identifier' || current.value !== 'is') {
      out.push(current);
      continue;
    }
    const negate = tokens[i + 1]?.type === 'Identifier' && tokens[i + 1]!.value === 'not';
    const nameIndex = i + (negate ? 2 : 1);
    const name = tokens[nameIndex];
    const next = tokens[nameIndex + 1];
    let args: Token[];
    let end: number;
    if (name?.type !== 'Identifier') {
      out.push(current);
      continue;
    }
    if (next?.type === 'OpenParen') {
      end = skipGroup(tokens, nameIndex + 1);
      args = tokens.slice(nameIndex + 2, end - 1);
    } else if (startsArgument(next)) {
      end = skipPrimary(tokens, nameIndex + 1);
      args = tokens.slice(nameIndex + 1, end);
    } else {
      out.push(current);
      continue;
    }
    out.push(
      token('|', 'Pipe'),
      token(TEST_FILTER, 'Identifier'),
      token('(', 'OpenParen'),
      token(name.value, 'StringLiteral'),
      token(',', 'Comma'),
      token(negate ? 'true' : 'false', 'Identifier'),
      ...(args.length > 0 ? [token(',', 'Comma'), ...args] : []),
      token(')', 'CloseParen'),
    );
    i = end - 1;
  }
  return out;
}

/**
 * Float literals with an exponent (`1e-5`, `2.5E3`): the lexer splits them into a number and a name; this pass joins
 * them back into one float literal.
 */
export function mergeExponentLiterals(tokens: readonly Token[]): Token[] {
  const out: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const current = tokens[i]!;
    const next = tokens[i + 1];
    if (current.type !== 'NumericLiteral' || next?.type !== 'Identifier' || !/^[eE]\d*$/.test(next.value)) {
      out.push(current);
      continue;
    }
    const mantissa = current.value.includes('.') ? current.value : `${current.value}.0`;
    if (next.value.length > 1) {
      out.push(token(`${mantissa}${next.value}`, 'NumericLiteral'));
      i += 1;
      continue;
    }
    // `1e-5`: the sign and digits follow as separate tokens (an operator then a number, or a signed number).
    const sign = tokens[i + 2];
    const digits = tokens[i + 3];
    if (sign?.type === 'NumericLiteral' && /^[+-]\d+$/.test(sign.value)) {
      out.push(token(`${mantissa}e${sign.value}`, 'NumericLiteral'));
      i += 2;
    } else if ((sign?.value === '-' || sign?.value === '+') && digits?.type === 'NumericLiteral') {
      out.push(token(`${mantissa}e${sign.value}${digits.value}`, 'NumericLiteral'));
      i += 3;
    } else out.push(current);
  }
  return out;
}

/** Every token pass, in order. */
export function rewriteTokens(tokens: readonly Token[]): Token[] {
  return rewriteTestArguments(mergeExponentLiterals(tokens));
}
