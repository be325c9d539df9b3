import type { GrammarNode, ParsedGrammar } from './grammar-ast.js';

function escapeCodePoint(codePoint: number, inClass: boolean): string {
  if (codePoint === 0x5c) return '\\\\';
  if (codePoint === 0x22) return '\\"';
  if (inClass && (codePoint === 0x5d || codePoint === 0x5b || codePoint === 0x2d || codePoint === 0x5e)) {
    return `\\${String.fromCodePoint(codePoint)}`;
  }
  if (codePoint >= 0x20 && codePoint < 0x7f) return String.fromCodePoint(codePoint);
  if (codePoint <= 0xffff) return `\\u${codePoint.toString(16).padStart(4, '0')}`;
  return `\\U${codePoint.toString(16).padStart(8, '0')}`;
}

function printNode(node: GrammarNode): string {
  switch (node.kind) {
    case 'literal':
      return node.text === ''
        ? '""'
        : `"${[...node.text].map((c) => escapeCodePoint(c.codePointAt(0)!, false)).join('')}"`;
    case 'class': {
      const body = node.ranges
        .map(([low, high]) =>
          low === high ? escapeCodePoint(low, true) : `${escapeCodePoint(low, true)}-${escapeCodePoint(high, true)}`,
        )
        .join('');
      // An empty negated class matches any character; an empty class matches nothing (not expressible: use ANY minus all).
      return `[${node.negated ? '^' : ''}${body}]`;
    }
    case 'any':
      return '[\\u0000-\\U0010ffff]';
    case 'reference':
      return node.name;
    case 'sequence':
      return `(${node.items.map(printNode).join(' ')})`;
    case 'alternatives':
      return `(${node.options.map(printNode).join(' | ')})`;
    case 'repeat': {
      const item = `(${printNode(node.item)})`;
      if (node.min === 0 && node.max === undefined) return `${item}*`;
      if (node.min === 1 && node.max === undefined) return `${item}+`;
      if (node.min === 0 && node.max === 1) return `${item}?`;
      return `${item}{${node.min},${node.max ?? ''}}`;
    }
  }
}

/**
 * Writes a parsed grammar in XGrammar's EBNF dialect (the same notation, with every escape spelled the way XGrammar
 * reads it). Only grammars that {@link parseGbnf} accepted reach XGrammar, so its own parser never sees invalid input.
 */
export function printEbnf(grammar: ParsedGrammar): string {
  return [...grammar.rules].map(([name, node]) => `${name} ::= ${printNode(node)}`).join('\n');
}
