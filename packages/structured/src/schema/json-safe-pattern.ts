import { StrataError } from '@strata/core';

/** Characters a JSON string cannot hold raw: the quote, the backslash and the control characters. */
const EXCLUDED: readonly (readonly [number, number])[] = [
  [0x00, 0x1f],
  [0x22, 0x22],
  [0x5c, 0x5c],
];
const EXCLUDED_CLASS_BODY = '"\\\\\\u0000-\\u001f';

const hex = (codePoint: number) =>
  codePoint <= 0xffff ? `\\u${codePoint.toString(16).padStart(4, '0')}` : `\\u{${codePoint.toString(16)}}`;

function refuse(path: string, message: string): never {
  throw new StrataError('UNSUPPORTED_SCHEMA', `${path}: ${message}`, { details: { path, keyword: 'pattern' } });
}

/** Ranges of one positive class body, with `\d \w \s` expanded (`\s` as the space only) and escapes decoded. */
function classRanges(body: string, path: string): [number, number][] {
  const ranges: [number, number][] = [];
  const single = (index: number): { codePoint: number; next: number } | { set: [number, number][]; next: number } => {
    const character = body[index]!;
    if (character !== '\\')
      return { codePoint: body.codePointAt(index)!, next: index + (body.codePointAt(index)! > 0xffff ? 2 : 1) };
    const escaped = body[index + 1] ?? '';
    if (escaped === 'd') return { set: [[0x30, 0x39]], next: index + 2 };
    if (escaped === 'w')
      return {
        set: [
          [0x30, 0x39],
          [0x41, 0x5a],
          [0x5f, 0x5f],
          [0x61, 0x7a],
        ],
        next: index + 2,
      };
    if (escaped === 's') return { set: [[0x20, 0x20]], next: index + 2 };
    if (/[DWS]/.test(escaped)) refuse(path, `'\\${escaped}' inside a character class is not supported in a pattern.`);
    const control: Record<string, number> = { n: 10, r: 13, t: 9, f: 12, v: 11, '0': 0 };
    if (escaped in control) return { codePoint: control[escaped]!, next: index + 2 };
    if (escaped === 'x' || escaped === 'u') {
      const digits = escaped === 'x' ? 2 : 4;
      return { codePoint: Number.parseInt(body.slice(index + 2, index + 2 + digits), 16), next: index + 2 + digits };
    }
    return { codePoint: body.codePointAt(index + 1)!, next: index + 2 };
  };
  for (let index = 0; index < body.length; ) {
    const first = single(index);
    index = first.next;
    if ('set' in first) {
      ranges.push(...first.set);
      continue;
    }
    if (body[index] === '-' && index + 1 < body.length) {
      const last = single(index + 1);
      if ('set' in last) refuse(path, 'a class range cannot end in a shorthand class.');
      ranges.push([first.codePoint, last.codePoint]);
      index = last.next;
    } else ranges.push([first.codePoint, first.codePoint]);
  }
  return ranges;
}

/** `ranges` minus the characters a JSON string cannot hold raw. */
function subtractExcluded(ranges: [number, number][]): [number, number][] {
  let result = ranges;
  for (const [low, high] of EXCLUDED) {
    result = result.flatMap(([start, end]): [number, number][] => {
      if (end < low || start > high) return [[start, end]];
      const parts: [number, number][] = [];
      if (start < low) parts.push([start, low - 1]);
      if (end > high) parts.push([high + 1, end]);
      return parts;
    });
  }
  return result;
}

/**
 * Rewrites a JSON Schema `pattern` so that it can only match characters a JSON string holds unescaped. XGrammar inserts
 * the pattern's matches raw between the quotes, so `.`, negated classes and ranges such as `[ -~]` would otherwise let
 * `"`, `\` or a newline through (invalid JSON). `.` and negated classes exclude those characters, positive classes lose
 * them, `\s` becomes the space; a pattern that requires one of them (a literal `"`, `\\`, `\n`) is refused with
 * `UNSUPPORTED_SCHEMA`.
 */
export function jsonSafePattern(pattern: string, path: string): string {
  let result = '';
  for (let index = 0; index < pattern.length; ) {
    const character = pattern[index]!;
    if (character === '\\') {
      const escaped = pattern[index + 1] ?? '';
      if (/[nrtfv0"\\]/.test(escaped) || escaped === 'x' || escaped === 'u') {
        const value = classRanges(
          pattern.slice(index, index + (escaped === 'x' ? 4 : escaped === 'u' ? 6 : 2)),
          path,
        )[0]!;
        if (subtractExcluded([value]).length === 0)
          refuse(path, `the pattern requires '${pattern.slice(index, index + 2)}', which a JSON string must escape.`);
      }
      if (escaped === 's') result += ' ';
      else if (escaped === 'S') result += `[^\\s${EXCLUDED_CLASS_BODY}]`;
      else if (escaped === 'W') result += `[^\\w${EXCLUDED_CLASS_BODY}]`;
      else if (escaped === 'D') result += `[^0-9${EXCLUDED_CLASS_BODY}]`;
      else result += `\\${escaped}`;
      index += 2;
    } else if (character === '[') {
      let end = index + 1;
      if (pattern[end] === '^') end++;
      if (pattern[end] === ']') end++;
      while (end < pattern.length && pattern[end] !== ']') end += pattern[end] === '\\' ? 2 : 1;
      const negated = pattern[index + 1] === '^';
      const body = pattern.slice(index + (negated ? 2 : 1), end);
      if (negated) result += `[^${body}${EXCLUDED_CLASS_BODY}]`;
      else {
        const ranges = subtractExcluded(classRanges(body, path));
        if (ranges.length === 0) refuse(path, `the class [${body}] holds only characters a JSON string must escape.`);
        result += `[${ranges.map(([low, high]) => (low === high ? hex(low) : `${hex(low)}-${hex(high)}`)).join('')}]`;
      }
      index = end + 1;
    } else if (character === '.') {
      result += `[^${EXCLUDED_CLASS_BODY}]`;
      index++;
    } else if (character === '"') {
      refuse(path, "the pattern requires '\"', which a JSON string must escape.");
    } else {
      result += character;
      index++;
    }
  }
  return result;
}
