/**
 * jinja2 decodes string literals as Python's `unicode-escape` codec does: a backslash before a newline continues the
 * line (Mistral's templates rely on it), `\a`, octal and `\U0001F600` escapes exist, and an unknown escape such as `\d`
 * stays as written. The lexer of `@huggingface/jinja` knows only the common escapes and rejects the rest, so this pass
 * rewrites the string literals inside `{{ … }}` and `{% … %}` into escapes it knows, leaving everything else untouched.
 */

/** Escapes the lexer of `@huggingface/jinja` decodes itself. */
const KNOWN = new Set(['n', 't', 'r', 'b', 'f', 'v', "'", '"', '\\', 'x', 'u']);

const hex4 = (code: number) => `\\u${code.toString(16).padStart(4, '0')}`;

/** `\u` escapes (a surrogate pair above U+FFFF) for one code point. */
function escapeCodePoint(codePoint: number): string {
  if (codePoint < 0x10000) return hex4(codePoint);
  const offset = codePoint - 0x10000;
  return hex4(0xd800 + (offset >> 10)) + hex4(0xdc00 + (offset & 0x3ff));
}

/** Rewrites one escape starting at the backslash `source[at]`; returns the replacement and the index after it. */
function rewriteEscape(source: string, at: number): [string, number] {
  const next = source[at + 1];
  if (next === undefined) return ['\\\\', at + 1];
  if (next === '\n') return ['', at + 2];
  if (next === '\r') return ['', source[at + 2] === '\n' ? at + 3 : at + 2];
  if (KNOWN.has(next)) return [source.slice(at, at + 2), at + 2];
  if (next === 'a') return ['\\x07', at + 2];
  if (next === 'U' && /^[0-9a-fA-F]{8}$/.test(source.slice(at + 2, at + 10))) {
    return [escapeCodePoint(Number.parseInt(source.slice(at + 2, at + 10), 16)), at + 10];
  }
  const octal = /^[0-7]{1,3}/.exec(source.slice(at + 1));
  if (octal !== null) return [escapeCodePoint(Number.parseInt(octal[0], 8)), at + 1 + octal[0].length];
  // Python keeps an unknown escape verbatim: a backslash, then the character.
  return ['\\\\', at + 1];
}

const TAG_START = /\{[{%#]/g;

/** Rewrites the escapes of every string literal inside template tags (see the module comment). */
export function normalizeStringEscapes(source: string): string {
  let out = '';
  let i = 0;
  while (i < source.length) {
    TAG_START.lastIndex = i;
    const open = TAG_START.exec(source)?.index;
    if (open === undefined) return out + source.slice(i);
    out += source.slice(i, open);
    i = open;
    const kind = source[i + 1];
    if (kind === '#') {
      const end = source.indexOf('#}', i + 2);
      const stop = end < 0 ? source.length : end + 2;
      out += source.slice(i, stop);
      i = stop;
      continue;
    }
    const close = kind === '{' ? '}}' : '%}';
    out += source.slice(i, i + 2);
    i += 2;
    let quote: string | undefined;
    let depth = 0; // open brackets: `}}` inside a dict literal does not close the tag
    while (i < source.length) {
      const char = source[i]!;
      if (quote !== undefined) {
        if (char === '\\') {
          const [replacement, after] = rewriteEscape(source, i);
          out += replacement;
          i = after;
          continue;
        }
        if (char === quote) quote = undefined;
      } else if (char === '"' || char === "'") quote = char;
      else if (depth === 0 && source.startsWith(close, i)) break;
      else if ('([{'.includes(char)) depth++;
      else if (')]}'.includes(char)) depth = Math.max(0, depth - 1);
      out += char;
      i++;
    }
    if (i < source.length) {
      out += close;
      i += 2;
    }
  }
  return out;
}
