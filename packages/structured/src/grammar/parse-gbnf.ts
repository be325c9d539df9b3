import { StrataError } from '@strata/core';
import type { GrammarNode, ParsedGrammar } from './grammar-ast.js';

/** The most repetitions `{m,n}` may ask for; larger bounds would blow up the compiled grammar. */
const MAX_REPEAT = 10_000;

/**
 * Parses a GBNF grammar (the format of llama.cpp's `grammars/` and llama-server's `grammar` field): rules
 * `name ::= …`, string literals with `\n \t \xHH \uHHHH` escapes, character classes `[a-z]` / `[^"]`, `.`, groups,
 * `|`, the postfixes `* + ?` and `{m}`, `{m,}`, `{m,n}`, and `#` comments. Every referenced rule must be defined and
 * `root` (or `rootRule`) must exist. Throws `INVALID_GRAMMAR` with the line and column of the first problem (1-based,
 * also in `details`).
 */
export function parseGbnf(source: string, rootRule = 'root'): ParsedGrammar {
  return new GbnfParser(source).parse(rootRule);
}

const isNameCharacter = (character: string | undefined): boolean =>
  character !== undefined && /[A-Za-z0-9_-]/.test(character);

class GbnfParser {
  private position = 0;
  private readonly rules = new Map<string, GrammarNode>();
  private readonly references: Extract<GrammarNode, { kind: 'reference' }>[] = [];

  constructor(private readonly source: string) {}

  parse(rootRule: string): ParsedGrammar {
    this.skipSpace(true);
    while (this.position < this.source.length) {
      const start = this.position;
      const name = this.name();
      this.skipSpace(false);
      if (!this.source.startsWith('::=', this.position)) this.fail(`expected '::=' after the rule name '${name}'`);
      this.position += 3;
      if (this.rules.has(name)) this.fail(`the rule '${name}' is defined twice`, start);
      this.skipSpace(true);
      this.rules.set(name, this.alternatives(false));
      const next = this.source[this.position];
      if (next !== undefined && next !== '\n' && next !== '\r') this.fail(`unexpected '${next}'`);
      this.skipSpace(true);
    }
    for (const reference of this.references) {
      if (!this.rules.has(reference.name)) {
        this.failAt(`the rule '${reference.name}' is used but never defined`, reference.line, reference.column);
      }
    }
    if (!this.rules.has(rootRule)) {
      throw new StrataError('INVALID_GRAMMAR', `The grammar has no '${rootRule}' rule; define '${rootRule} ::= …'.`, {
        details: { line: 1, column: 1, rootRule },
      });
    }
    return { rules: this.rules, root: rootRule };
  }

  // ── lexical helpers ──

  private lineColumn(offset: number): { line: number; column: number } {
    let line = 1;
    let lineStart = 0;
    for (let index = 0; index < offset && index < this.source.length; index++) {
      if (this.source[index] === '\n') {
        line++;
        lineStart = index + 1;
      }
    }
    return { line, column: offset - lineStart + 1 };
  }

  private fail(problem: string, offset = this.position): never {
    const { line, column } = this.lineColumn(offset);
    this.failAt(problem, line, column);
  }

  private failAt(problem: string, line: number, column: number): never {
    throw new StrataError('INVALID_GRAMMAR', `Invalid GBNF grammar at line ${line}, column ${column}: ${problem}.`, {
      details: { line, column },
    });
  }

  /** Skips blanks and comments; newlines only when `newlines` (between rules, after `|`, inside parentheses). */
  private skipSpace(newlines: boolean): void {
    while (this.position < this.source.length) {
      const character = this.source[this.position]!;
      if (character === '#') {
        while (this.position < this.source.length && this.source[this.position] !== '\n') this.position++;
      } else if (character === ' ' || character === '\t' || (newlines && (character === '\n' || character === '\r'))) {
        this.position++;
      } else {
        return;
      }
    }
  }

  private name(): string {
    const start = this.position;
    while (isNameCharacter(this.source[this.position])) this.position++;
    if (this.position === start) this.fail('expected a rule name');
    return this.source.slice(start, this.position);
  }

  // ── structure ──

  private alternatives(nested: boolean): GrammarNode {
    const options = [this.sequence(nested)];
    while (this.source[this.position] === '|') {
      this.position++;
      this.skipSpace(true);
      options.push(this.sequence(nested));
    }
    return options.length === 1 ? options[0]! : { kind: 'alternatives', options };
  }

  private sequence(nested: boolean): GrammarNode {
    const items: GrammarNode[] = [];
    for (;;) {
      const character = this.source[this.position];
      if (character === undefined || character === '|' || character === ')') break;
      if (character === '\n' || character === '\r') break;
      items.push(this.postfix(this.primary()));
      this.skipSpace(nested);
    }
    // An empty alternative (`ws ::= | " "`) matches the empty string.
    if (items.length === 0) return { kind: 'literal', text: '' };
    return items.length === 1 ? items[0]! : { kind: 'sequence', items };
  }

  private primary(): GrammarNode {
    const start = this.position;
    const character = this.source[this.position];
    if (character === '"') return this.literal();
    if (character === '[') return this.characterClass();
    if (character === '.') {
      this.position++;
      return { kind: 'any' };
    }
    if (character === '(') {
      this.position++;
      this.skipSpace(true);
      const inner = this.alternatives(true);
      this.skipSpace(true);
      if (this.source[this.position] !== ')') this.fail("expected ')' to close the group", start);
      this.position++;
      return inner;
    }
    if (isNameCharacter(character)) {
      const { line, column } = this.lineColumn(start);
      const reference = { kind: 'reference' as const, name: this.name(), line, column };
      this.references.push(reference);
      return reference;
    }
    this.fail(character === undefined ? 'unexpected end of the grammar' : `unexpected '${character}'`);
  }

  private postfix(item: GrammarNode): GrammarNode {
    let node = item;
    for (;;) {
      const character = this.source[this.position];
      if (character === '*') node = { kind: 'repeat', item: node, min: 0, max: undefined };
      else if (character === '+') node = { kind: 'repeat', item: node, min: 1, max: undefined };
      else if (character === '?') node = { kind: 'repeat', item: node, min: 0, max: 1 };
      else if (character === '{') {
        node = this.braces(node);
        continue;
      } else return node;
      this.position++;
    }
  }

  private braces(item: GrammarNode): GrammarNode {
    const start = this.position;
    const close = this.source.indexOf('}', start);
    if (close === -1) this.fail("expected '}' to close the repetition", start);
    const body = this.source.slice(start + 1, close).replace(/\s+/g, '');
    const match = /^(\d*)(,?)(\d*)$/.exec(body);
    if (match === null || (match[1] === '' && match[3] === '' && match[2] === '')) {
      this.fail(`'{${body}}' is not a repetition; write {m}, {m,}, {m,n} or {,n}`, start);
    }
    const min = match[1] === '' ? 0 : Number(match[1]);
    const max = match[2] === '' ? min : match[3] === '' ? undefined : Number(match[3]);
    if (max !== undefined && max < min) this.fail(`the repetition {${body}} has its maximum below its minimum`, start);
    if (min > MAX_REPEAT || (max ?? 0) > MAX_REPEAT) this.fail(`repetition bounds above ${MAX_REPEAT}`, start);
    this.position = close + 1;
    return { kind: 'repeat', item, min, max };
  }

  private literal(): GrammarNode {
    const start = this.position;
    this.position++;
    let text = '';
    for (;;) {
      const character = this.source[this.position];
      if (character === undefined || character === '\n') this.fail('unterminated string literal', start);
      if (character === '"') break;
      text += String.fromCodePoint(this.character());
    }
    this.position++;
    return { kind: 'literal', text };
  }

  private characterClass(): GrammarNode {
    const start = this.position;
    this.position++;
    const negated = this.source[this.position] === '^';
    if (negated) this.position++;
    const ranges: [number, number][] = [];
    for (;;) {
      const character = this.source[this.position];
      if (character === undefined || character === '\n') this.fail('unterminated character class', start);
      if (character === ']') break;
      const low = this.character();
      let high = low;
      if (this.source[this.position] === '-' && this.source[this.position + 1] !== ']') {
        this.position++;
        high = this.character();
        if (high < low) this.fail('a character range ends below its start', start);
      }
      ranges.push([low, high]);
    }
    this.position++;
    return { kind: 'class', negated, ranges };
  }

  /** One possibly escaped character of a literal or class, as a code point. */
  private character(): number {
    const character = this.source[this.position]!;
    if (character !== '\\') {
      const codePoint = this.source.codePointAt(this.position)!;
      this.position += codePoint > 0xffff ? 2 : 1;
      return codePoint;
    }
    const escapeLetter = this.source[this.position + 1];
    this.position += 2;
    const simple: Record<string, number> = { n: 10, r: 13, t: 9, '\\': 92, '"': 34, '[': 91, ']': 93, '-': 45 };
    if (escapeLetter !== undefined && escapeLetter in simple) return simple[escapeLetter]!;
    const digits = escapeLetter === 'x' ? 2 : escapeLetter === 'u' ? 4 : escapeLetter === 'U' ? 8 : 0;
    if (digits === 0) this.fail(`unknown escapeLetter '\\${escapeLetter ?? ''}'`, this.position - 2);
    const hex = this.source.slice(this.position, this.position + digits);
    if (!/^[0-9a-fA-F]+$/.test(hex) || hex.length !== digits) {
      this.fail(`'\\${escapeLetter}' needs ${digits} hexadecimal digits`, this.position - 2);
    }
    this.position += digits;
    const value = Number.parseInt(hex, 16);
    if (value > 0x10ffff) this.fail(`'\\${escapeLetter}${hex}' is beyond Unicode`, this.position - digits - 2);
    return value;
  }
}
