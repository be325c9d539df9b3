import { escapedText, isMarkup, markup } from './markup.js';
import { renderBudget } from './render-budget.js';
import {
  objectTypeRepr,
  pythonEquals,
  pythonRepr,
  pythonStr,
  pythonTypeName,
  TemplateRuntimeError,
} from './python-semantics.js';
import {
  bool,
  decodeKey,
  encodeKey,
  fn,
  int,
  is,
  type JinjaValue,
  list,
  none,
  str,
  tuple,
  undefinedValue,
  Values,
} from './runtime-values.js';

/**
 * Attribute and item access with jinja2's rules (`obj.name` tries the Python attribute, then the item; `obj[key]` the
 * item, then the attribute), and the Python methods of `str`, `dict` and `list` that chat templates call. Methods that
 * modify a value are refused, as jinja2's immutable sandbox (which Hugging Face uses) refuses them.
 */

/** Splits call arguments into positional ones and the trailing keyword arguments. */
export function splitArguments(args: readonly JinjaValue[]): [JinjaValue[], Map<string, JinjaValue>] {
  const last = args[args.length - 1];
  if (last !== undefined && is.keywords(last)) return [args.slice(0, -1), last.value];
  return [args.slice(), new Map()];
}

type Method = (self: JinjaValue, positional: JinjaValue[], keywords: Map<string, JinjaValue>) => JinjaValue;

const argument = (positional: JinjaValue[], keywords: Map<string, JinjaValue>, index: number, name: string) =>
  positional[index] ?? keywords.get(name);

const WHITESPACE =
  ' \t\n\r\v\f\u001c\u001d\u001e\u001f\u0085\u00a0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u2028\u2029\u202f\u205f\u3000';

/** Python's `str.strip(chars)` family. */
export function stripChars(text: string, chars: JinjaValue | undefined, left: boolean, right: boolean): string {
  const set = chars === undefined || is.null(chars) ? WHITESPACE : pythonStr(chars);
  const characters = Array.from(text);
  let start = 0;
  let end = characters.length;
  if (left) while (start < end && set.includes(characters[start]!)) start++;
  if (right) while (end > start && set.includes(characters[end - 1]!)) end--;
  return characters.slice(start, end).join('');
}

const LINE_BREAKS = '\n\r\v\f\u001c\u001d\u001e\u0085\u2028\u2029';

/** Python's `str.splitlines()`: splits on every Unicode line boundary, `\r\n` counting once. */
export function pythonSplitLines(text: string): string[] {
  const lines: string[] = [];
  let current = '';
  for (let i = 0; i < text.length; i++) {
    const char = text[i]!;
    if (!LINE_BREAKS.includes(char)) {
      current += char;
      continue;
    }
    if (char === '\r' && text[i + 1] === '\n') i++;
    lines.push(current);
    current = '';
  }
  if (current !== '') lines.push(current);
  return lines;
}

function splitWhitespace(text: string): string[] {
  const words: string[] = [];
  let current = '';
  for (const char of text) {
    if (WHITESPACE.includes(char)) {
      if (current !== '') words.push(current);
      current = '';
    } else current += char;
  }
  if (current !== '') words.push(current);
  return words;
}

function splitText(text: string, separator: JinjaValue | undefined, maxSplit: number, fromRight: boolean): string[] {
  if (separator === undefined || is.null(separator)) {
    const words = splitWhitespace(text);
    if (maxSplit < 0 || words.length <= maxSplit + 1) return words;
    // Keep the remainder verbatim after the allowed number of splits.
    const pattern = /\S+/gu;
    const matches = [...text.matchAll(pattern)];
    if (fromRight) {
      const cut = matches[matches.length - maxSplit]!;
      const head = stripChars(text.slice(0, cut.index), undefined, true, true);
      return [head, ...matches.slice(matches.length - maxSplit).map((match) => match[0])];
    }
    const cut = matches[maxSplit]!;
    return [
      ...matches.slice(0, maxSplit).map((match) => match[0]),
      stripChars(text.slice(cut.index), undefined, true, true),
    ];
  }
  const separatorText = pythonStr(separator);
  if (separatorText === '') throw new TemplateRuntimeError('ValueError', 'empty separator');
  const parts = text.split(separatorText);
  if (maxSplit < 0 || parts.length <= maxSplit + 1) return parts;
  if (fromRight) {
    const keep = parts.splice(parts.length - maxSplit);
    return [parts.join(separatorText), ...keep];
  }
  const rest = parts.splice(maxSplit);
  return [...parts, rest.join(separatorText)];
}

function affixTest(self: JinjaValue, positional: JinjaValue[], check: (text: string, affix: string) => boolean) {
  const text = self.value as string;
  const affix = positional[0];
  if (affix === undefined)
    throw new TemplateRuntimeError('TypeError', 'startswith() takes at least 1 argument (0 given)');
  const candidates = is.array(affix) ? affix.value : [affix];
  return bool(candidates.some((candidate) => check(text, pythonStr(candidate))));
}

function pythonTitle(text: string): string {
  return text.replace(/\p{L}+/gu, (word) => word.charAt(0).toUpperCase() + word.slice(1).toLowerCase());
}

function formatString(template: string, positional: JinjaValue[], keywords: Map<string, JinjaValue>): string {
  let next = 0;
  return template.replace(/\{\{|\}\}|\{([^{}]*)\}/g, (match, field: string | undefined) => {
    if (match === '{{') return '{';
    if (match === '}}') return '}';
    const name = (field ?? '').split(/[:!]/)[0]!;
    const value = name === '' ? positional[next++] : /^\d+$/.test(name) ? positional[Number(name)] : keywords.get(name);
    if (value === undefined) throw new TemplateRuntimeError('ValueError', `missing format argument '${name}'`);
    return pythonStr(value);
  });
}

const STRING_METHODS: Record<string, Method> = {
  strip: (self, positional, keywords) =>
    str(stripChars(self.value as string, argument(positional, keywords, 0, 'chars'), true, true)),
  lstrip: (self, positional, keywords) =>
    str(stripChars(self.value as string, argument(positional, keywords, 0, 'chars'), true, false)),
  rstrip: (self, positional, keywords) =>
    str(stripChars(self.value as string, argument(positional, keywords, 0, 'chars'), false, true)),
  split: (self, positional, keywords) => {
    const max = argument(positional, keywords, 1, 'maxsplit');
    return list(
      splitText(
        self.value as string,
        argument(positional, keywords, 0, 'sep'),
        max ? Number(max.value) : -1,
        false,
      ).map(str),
    );
  },
  rsplit: (self, positional, keywords) => {
    const max = argument(positional, keywords, 1, 'maxsplit');
    return list(
      splitText(self.value as string, argument(positional, keywords, 0, 'sep'), max ? Number(max.value) : -1, true).map(
        str,
      ),
    );
  },
  splitlines: (self) => list(pythonSplitLines(self.value as string).map(str)),
  startswith: (self, positional) => affixTest(self, positional, (text, affix) => text.startsWith(affix)),
  endswith: (self, positional) => affixTest(self, positional, (text, affix) => text.endsWith(affix)),
  replace: (self, positional, keywords) => {
    const newValue = positional[1] ?? str('');
    // Markup's replace escapes the replacement it brings in.
    const replacement = isMarkup(self) && is.string(newValue) ? escapedText(newValue) : pythonStr(newValue);
    const old = pythonStr(positional[0] ?? str(''));
    let count = Number((argument(positional, keywords, 2, 'count') ?? int(-1)).value);
    const text = self.value as string;
    const wrap = isMarkup(self) ? markup : str;
    if (count < 0) return wrap(text.split(old).join(replacement));
    const parts = text.split(old);
    let out = parts[0]!;
    for (let i = 1; i < parts.length; i++) out += (count-- > 0 ? replacement : old) + parts[i];
    return wrap(out);
  },
  upper: (self) => str((self.value as string).toUpperCase()),
  lower: (self) => str((self.value as string).toLowerCase()),
  title: (self) => str(pythonTitle(self.value as string)),
  capitalize: (self) => {
    const text = self.value as string;
    return str(text.charAt(0).toUpperCase() + text.slice(1).toLowerCase());
  },
  swapcase: (self) =>
    str(
      Array.from(self.value as string, (character) =>
        character === character.toUpperCase() ? character.toLowerCase() : character.toUpperCase(),
      ).join(''),
    ),
  find: (self, positional) => int((self.value as string).indexOf(pythonStr(positional[0] ?? str('')))),
  rfind: (self, positional) => int((self.value as string).lastIndexOf(pythonStr(positional[0] ?? str('')))),
  index: (self, positional) => {
    const at = (self.value as string).indexOf(pythonStr(positional[0] ?? str('')));
    if (at < 0) throw new TemplateRuntimeError('ValueError', 'substring not found');
    return int(at);
  },
  count: (self, positional) => {
    const needle = pythonStr(positional[0] ?? str(''));
    return int(
      needle === '' ? Array.from(self.value as string).length + 1 : (self.value as string).split(needle).length - 1,
    );
  },
  join: (self, positional) => {
    const items = positional[0];
    if (items === undefined || !(is.array(items) || is.string(items))) {
      throw new TemplateRuntimeError('TypeError', 'can only join an iterable');
    }
    const parts = is.string(items) ? Array.from(items.value) : items.value.map((item) => pythonStr(item));
    return str(parts.join(self.value as string));
  },
  format: (self, positional, keywords) => str(formatString(self.value as string, positional, keywords)),
  isdigit: (self) => bool(/^\p{Nd}+$/u.test(self.value as string)),
  isnumeric: (self) => bool(/^\p{N}+$/u.test(self.value as string)),
  isalpha: (self) => bool(/^\p{L}+$/u.test(self.value as string)),
  isalnum: (self) => bool(/^[\p{L}\p{N}]+$/u.test(self.value as string)),
  isspace: (self) => bool(/^\s+$/u.test(self.value as string)),
  islower: (self) => bool(/\p{Ll}/u.test(self.value as string) && !/\p{Lu}/u.test(self.value as string)),
  isupper: (self) => bool(/\p{Lu}/u.test(self.value as string) && !/\p{Ll}/u.test(self.value as string)),
  zfill: (self, positional) => {
    const text = self.value as string;
    const width = Number(positional[0]?.value ?? 0);
    renderBudget().length(width, 'the width of zfill');
    const sign = /^[+-]/.test(text) ? text[0]! : '';
    return str(sign + text.slice(sign.length).padStart(width - sign.length, '0'));
  },
  center: (self, positional) => {
    const text = self.value as string;
    const width = Number(positional[0]?.value ?? 0);
    renderBudget().length(width, 'the width of center');
    const fill = positional[1] ? pythonStr(positional[1]) : ' ';
    const total = Math.max(0, width - text.length);
    const left = Math.floor(total / 2) + ((total % 2) & (width % 2));
    return str(fill.repeat(left) + text + fill.repeat(total - left));
  },
};

const DICT_METHODS: Record<string, Method> = {
  get: (self, positional, keywords) => {
    const key = positional[0] ?? none();
    const found = is.array(key) ? undefined : (self.value as Map<string, JinjaValue>).get(encodeKey(key));
    return found ?? argument(positional, keywords, 1, 'default') ?? none();
  },
  items: (self) =>
    list([...(self.value as Map<string, JinjaValue>)].map(([key, value]) => tuple([decodeKey(key), value]))),
  keys: (self) => list([...(self.value as Map<string, JinjaValue>).keys()].map(decodeKey)),
  values: (self) => list([...(self.value as Map<string, JinjaValue>).values()]),
  copy: (self) => new Values.Object(new Map(self.value as Map<string, JinjaValue>)),
};

const LIST_METHODS: Record<string, Method> = {
  index: (self, positional) => {
    const at = (self.value as JinjaValue[]).findIndex((item) => pythonEquals(item, positional[0] ?? none()));
    if (at < 0) throw new TemplateRuntimeError('ValueError', `${pythonStr(positional[0] ?? none())} is not in list`);
    return int(at);
  },
  count: (self, positional) =>
    int((self.value as JinjaValue[]).filter((item) => pythonEquals(item, positional[0] ?? none())).length),
  copy: (self) => list((self.value as JinjaValue[]).slice()),
};

/** Methods that exist in Python but modify the value: jinja2's immutable sandbox refuses to call them. */
const UNSAFE: Record<string, readonly string[]> = {
  dict: ['clear', 'pop', 'popitem', 'setdefault', 'update'],
  list: ['append', 'clear', 'extend', 'insert', 'pop', 'remove', 'reverse', 'sort'],
};

function methodTable(value: JinjaValue): Record<string, Method> | undefined {
  if (is.string(value)) return STRING_METHODS;
  if (is.object(value)) return DICT_METHODS;
  if (is.array(value))
    return is.tuple(value) ? { index: LIST_METHODS.index!, count: LIST_METHODS.count! } : LIST_METHODS;
  return undefined;
}

/** The Python attribute `name` of `value` (a bound method or a refused one), or `undefined` when it has none. */
function pythonAttribute(value: JinjaValue, name: string): JinjaValue | undefined {
  const method = methodTable(value)?.[name];
  if (method !== undefined && Object.hasOwn(methodTable(value)!, name)) {
    return fn((args) => {
      const [positional, keywords] = splitArguments(args);
      return method(value, positional, keywords);
    });
  }
  const typeName = pythonTypeName(value);
  if (UNSAFE[typeName]?.includes(name)) {
    return undefinedValue({
      kind: 'SecurityError',
      hint: `access to attribute '${name}' of '${typeName}' object is unsafe.`,
    });
  }
  if (is.namespace(value)) return value.value.get(name);
  return undefined;
}

function item(value: JinjaValue, key: JinjaValue): JinjaValue | undefined {
  if (is.object(value) && (is.string(key) || is.number(key) || is.null(key))) return value.value.get(encodeKey(key));
  if ((is.array(value) || is.string(value)) && (is.integer(key) || is.boolean(key))) {
    const index = Number(key.value);
    if (is.string(value)) {
      const characters = Array.from(value.value);
      const character = characters[index < 0 ? characters.length + index : index];
      return character === undefined ? undefined : str(character);
    }
    return value.value[index < 0 ? value.value.length + index : index];
  }
  if (is.namespace(value) && is.string(key)) return value.value.get(key.value);
  return undefined;
}

function missing(value: JinjaValue, key: JinjaValue): JinjaValue {
  const hint = is.string(key)
    ? `'${objectTypeRepr(value)}' has no attribute '${key.value}'`
    : `${objectTypeRepr(value)} has no element ${pythonRepr(key)}`;
  return undefinedValue({ hint });
}

/** `getattr(value, name)` alone (jinja2's `attr` filter): the Python attribute, never the item. */
export function getPythonAttribute(value: JinjaValue, name: string): JinjaValue {
  return pythonAttribute(value, name) ?? missing(value, str(name));
}

/** `value.name` as jinja2 evaluates it: the Python attribute first, then the item. */
export function getAttribute(value: JinjaValue, name: string): JinjaValue {
  return pythonAttribute(value, name) ?? item(value, str(name)) ?? missing(value, str(name));
}

/** `value[key]` as jinja2 evaluates it: the item first, then (for a string key) the Python attribute. */
export function getItem(value: JinjaValue, key: JinjaValue): JinjaValue {
  return item(value, key) ?? (is.string(key) ? pythonAttribute(value, key.value) : undefined) ?? missing(value, key);
}
