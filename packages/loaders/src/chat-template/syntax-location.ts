import { parse, tokenize } from '@huggingface/jinja';
import { normalizeStringEscapes } from './string-escapes.js';
import { rewriteTokens } from './token-rewrites.js';

/** A tag (`{{ … }}` or `{% … %}`) of a template, with where it starts. */
const TAG = /\{\{[\s\S]*?\}\}|\{%[\s\S]*?%\}/g;

/** Block tags and the end tag that closes them, so that an opening tag can be parsed on its own. */
const CLOSERS: Record<string, string> = {
  for: 'endfor',
  if: 'endif',
  macro: 'endmacro',
  filter: 'endfilter',
  call: 'endcall',
  generation: 'endgeneration',
};

/** Most tags tried, so that locating stays cheap on a huge template. */
const MOST_TAGS = 10_000;

/** Tags that cannot stand alone (middles and ends of blocks). */
const DEPENDENT = /^\{%-?\s*(else|elif|end\w*)\b/;

function compiles(text: string): boolean {
  try {
    parse(rewriteTokens(tokenize(normalizeStringEscapes(text), { lstrip_blocks: true, trim_blocks: true })));
    return true;
  } catch {
    return false;
  }
}

/**
 * Where a template that does not compile goes wrong, for the error message: the first tag that does not compile on
 * its own (with its block closed for it), as `line L, column C: {{ tag }}`. The parser of `@huggingface/jinja` keeps
 * no positions, so the tags are tried one by one; `undefined` when each tag compiles alone (the blocks do not nest).
 */
export function locateSyntaxError(source: string): string | undefined {
  let tried = 0;
  for (const match of source.matchAll(TAG)) {
    if (++tried > MOST_TAGS) return undefined;
    const tag = match[0];
    if (DEPENDENT.test(tag)) continue;
    const keyword = /^\{%-?\s*(\w+)/.exec(tag)?.[1];
    const opensBlock = keyword !== undefined && (keyword in CLOSERS || (keyword === 'set' && !tag.includes('=')));
    const closer = keyword === 'set' ? 'endset' : keyword === undefined ? undefined : CLOSERS[keyword];
    const standalone = opensBlock && closer !== undefined ? `${tag}{% ${closer} %}` : tag;
    if (compiles(standalone)) continue;
    const before = source.slice(0, match.index);
    const line = before.split('\n').length;
    const column = match.index - before.lastIndexOf('\n');
    const shown = tag.length > 80 ? `${tag.slice(0, 79)}…` : tag;
    return `line ${line}, column ${column}: ${shown}`;
  }
  return undefined;
}
