import { escapeHtml, isMarkup, markup } from './markup.js';
import { getItem, getPythonAttribute, pythonSplitLines, stripChars } from './methods.js';
import { percentFormat } from './percent-format.js';
import {
  failUndefined,
  jsonDumps,
  pythonCompare,
  pythonEquals,
  pythonStr,
  pythonTypeName,
  TemplateRuntimeError,
} from './python-semantics.js';
import {
  decodeKey,
  dict,
  float,
  int,
  is,
  type JinjaValue,
  list,
  str,
  tuple,
  undefinedValue,
} from './runtime-values.js';
import { renderBudget } from './render-budget.js';
import { getTest } from './tests.js';

/**
 * jinja2's built-in filters that chat templates use, plus Hugging Face's `tojson` (`json.dumps` without ASCII
 * escaping), with Python semantics: `|string` of a dict is its Python repr, `|length` of an undefined value is 0,
 * `|map('trim')` applies a filter, `|selectattr('a', 'equalto', 1)` applies a test.
 */
export type TemplateFilter = (
  value: JinjaValue,
  positional: JinjaValue[],
  keywords: Map<string, JinjaValue>,
) => JinjaValue;

const option = (positional: JinjaValue[], keywords: Map<string, JinjaValue>, index: number, name: string) =>
  positional[index] ?? keywords.get(name);
const truthy = (value: JinjaValue | undefined) => value?.__bool__().value === true;

/** The items of an iterable value, as a Python `for` would see them (undefined: none; dict: keys; str: characters). */
export function iterate(value: JinjaValue): JinjaValue[] {
  if (is.array(value)) return value.value;
  if (is.undefined(value)) return [];
  if (is.object(value)) return [...value.value.keys()].map(decodeKey);
  if (is.string(value)) return Array.from(value.value, str);
  throw new TemplateRuntimeError('TypeError', `'${pythonTypeName(value)}' object is not iterable`);
}

/** jinja2's `make_attrgetter`: `a.b.0` looks up item by item, numeric parts as indices. */
export function attributeGetter(path: JinjaValue, fallback?: JinjaValue): (value: JinjaValue) => JinjaValue {
  const parts = is.string(path)
    ? path.value.split('.').map((part) => (/^\d+$/.test(part) ? int(Number(part)) : str(part)))
    : [path];
  return (value) => {
    let current = value;
    for (const part of parts) {
      current = getItem(current, part);
      if (is.undefined(current)) return fallback ?? current;
    }
    return current;
  };
}

function sortKey(value: JinjaValue, caseSensitive: boolean): JinjaValue {
  return !caseSensitive && is.string(value) ? str(value.value.toLowerCase()) : value;
}

function length(value: JinjaValue): number {
  if (is.string(value)) return Array.from(value.value).length;
  if (is.array(value)) return value.value.length;
  if (is.object(value) || is.namespace(value)) return value.value.size;
  if (is.undefined(value)) return 0;
  throw new TemplateRuntimeError('TypeError', `object of type '${pythonTypeName(value)}' has no len()`);
}

/** The largest (`sign` 1) or smallest (-1) item; undefined for an empty sequence, as jinja2's `min`/`max`. */
function aggregate(value: JinjaValue, sign: 1 | -1): JinjaValue {
  const items = iterate(value);
  if (items.length === 0) return undefinedValue({ hint: 'No aggregated item, sequence was empty.' });
  return items.reduce((best, item) => (sign * pythonCompare(item, best) > 0 ? item : best));
}

function toInteger(value: JinjaValue, fallback: JinjaValue): JinjaValue {
  // int() of Undefined raises (its `__int__` fails), which `|int` does not catch.
  if (is.undefined(value)) failUndefined(value);
  if (is.integer(value)) return value;
  if (is.number(value)) return int(Math.trunc(Number(value.value)));
  if (is.string(value)) {
    const text = value.value.trim().replaceAll('_', '');
    if (/^[+-]?\d+$/.test(text)) return int(Number.parseInt(text, 10));
    const number = Number(text);
    return text !== '' && Number.isFinite(number) ? int(Math.trunc(number)) : fallback;
  }
  return fallback;
}

function toFloat(value: JinjaValue, fallback: JinjaValue): JinjaValue {
  if (is.undefined(value)) failUndefined(value);
  if (is.number(value)) return float(Number(value.value));
  if (is.string(value)) {
    const number = Number(value.value.trim());
    return value.value.trim() !== '' && !Number.isNaN(number) ? float(number) : fallback;
  }
  return fallback;
}

function selectFilter(select: boolean, byAttribute: boolean): TemplateFilter {
  return (value, positional) => {
    const args = positional.slice();
    const getter = byAttribute ? attributeGetter(args.shift() ?? str('')) : (item: JinjaValue) => item;
    const testName = args.shift();
    const test = testName === undefined ? (item: JinjaValue) => item.__bool__().value : getTest(pythonStr(testName));
    return list(iterate(value).filter((item) => test(getter(item), ...args) === select));
  };
}

function indent(value: JinjaValue, positional: JinjaValue[], keywords: Map<string, JinjaValue>): JinjaValue {
  const width = option(positional, keywords, 0, 'width') ?? int(4);
  if (!is.string(width)) renderBudget().length(Number(width.value), 'the indent width');
  const prefix = is.string(width) ? width.value : ' '.repeat(Number(width.value));
  const first = truthy(option(positional, keywords, 1, 'first'));
  const blank = truthy(option(positional, keywords, 2, 'blank'));
  // jinja2 appends a newline before splitting, so a trailing newline survives.
  const lines = pythonSplitLines(`${pythonStr(value)}\n`);
  let result: string;
  if (blank) result = lines.join(`\n${prefix}`);
  else {
    result = lines.shift() ?? '';
    if (lines.length > 0) result += `\n${lines.map((line) => (line ? prefix + line : line)).join('\n')}`;
  }
  return str(first ? prefix + result : result);
}

function tojson(value: JinjaValue, positional: JinjaValue[], keywords: Map<string, JinjaValue>): JinjaValue {
  if (is.undefined(value)) {
    throw new TemplateRuntimeError('TypeError', 'Object of type Undefined is not JSON serializable');
  }
  // Hugging Face's signature: tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
  const indentValue = option(positional, keywords, 1, 'indent');
  const separators = option(positional, keywords, 2, 'separators');
  return str(
    jsonDumps(value, {
      indent: indentValue === undefined || is.null(indentValue) ? null : (indentValue.value as number | string),
      separators:
        separators !== undefined && is.array(separators)
          ? [pythonStr(separators.value[0]!), pythonStr(separators.value[1]!)]
          : null,
      sortKeys: truthy(option(positional, keywords, 3, 'sort_keys')),
      ensureAscii: truthy(option(positional, keywords, 0, 'ensure_ascii')),
    }),
  );
}

/** Python's `round(number, digits)`: correctly rounded from the exact binary value, exact ties to even. */
function roundHalfEven(number: number, digits: number): number {
  if (digits < 0 || digits > 40 || !Number.isFinite(number)) return Math.round(number * 10 ** digits) / 10 ** digits;
  const magnitude = Math.abs(number);
  // toFixed works on the exact binary value, so its long expansion shows whether the value is exactly a tie.
  const [whole = '', fraction = ''] = magnitude.toFixed(Math.min(100, digits + 60)).split('.');
  const kept = whole + fraction.slice(0, digits);
  if (/^50*$/.test(fraction.slice(digits))) {
    const even = Number(kept.at(-1)) % 2 === 0;
    return (Math.sign(number) * (Number(kept) + (even ? 0 : 1))) / 10 ** digits;
  }
  return Math.sign(number) * Number(magnitude.toFixed(digits));
}

/** Every filter, by name. `map` is added by {@link createFilters} because it applies the others. */
const BASE_FILTERS: Record<string, TemplateFilter> = {
  abs: (value) => {
    if (!is.number(value)) {
      throw new TemplateRuntimeError('TypeError', `bad operand type for abs(): '${pythonTypeName(value)}'`);
    }
    return is.float(value) ? float(Math.abs(value.value)) : int(Math.abs(Number(value.value)));
  },
  attr: (value, positional) => {
    // Undefined raises on any attribute it is asked for (jinja2's `Undefined.__getattr__`).
    if (is.undefined(value)) failUndefined(value);
    return getPythonAttribute(value, pythonStr(positional[0] ?? str('')));
  },
  batch: (value, positional, keywords) => {
    const size = Number((option(positional, keywords, 0, 'linecount') ?? int(1)).value);
    if (!Number.isInteger(size) || size <= 0)
      throw new TemplateRuntimeError('ValueError', 'batch size must be positive');
    const fill = option(positional, keywords, 1, 'fill_with');
    const items = iterate(value);
    const batches: JinjaValue[] = [];
    for (let start = 0; start < items.length; start += size) {
      const batch = items.slice(start, start + size);
      while (fill !== undefined && batch.length < size) batch.push(fill);
      batches.push(list(batch));
    }
    return list(batches);
  },
  capitalize: (value) => {
    const text = pythonStr(value);
    return str(text.charAt(0).toUpperCase() + text.slice(1).toLowerCase());
  },
  center: (value, positional, keywords) => {
    const text = pythonStr(value);
    const width = Number((option(positional, keywords, 0, 'width') ?? int(80)).value);
    renderBudget().length(width, 'the width of center');
    const total = Math.max(0, width - Array.from(text).length);
    const left = Math.floor(total / 2) + (total & width & 1);
    return str(' '.repeat(left) + text + ' '.repeat(total - left));
  },
  count: (value) => int(length(value)),
  default: (value, positional, keywords) => {
    const fallback = option(positional, keywords, 0, 'default_value') ?? str('');
    const useBoolean = truthy(option(positional, keywords, 1, 'boolean'));
    return is.undefined(value) || (useBoolean && !value.__bool__().value) ? fallback : value;
  },
  dictsort: (value, positional, keywords) => {
    if (is.undefined(value)) failUndefined(value);
    if (!is.object(value)) throw new TemplateRuntimeError('TypeError', 'dictsort expects a dict');
    const caseSensitive = truthy(option(positional, keywords, 0, 'case_sensitive'));
    const byValue = pythonStr(option(positional, keywords, 1, 'by') ?? str('key')) === 'value';
    const reverse = truthy(option(positional, keywords, 2, 'reverse'));
    const items = [...value.value].map(([key, item]) => tuple([decodeKey(key), item]));
    items.sort((left, right) => {
      const index = byValue ? 1 : 0;
      const order = pythonCompare(
        sortKey((left.value as JinjaValue[])[index]!, caseSensitive),
        sortKey((right.value as JinjaValue[])[index]!, caseSensitive),
      );
      return reverse ? -order : order;
    });
    return list(items);
  },
  escape: (value) => (isMarkup(value) ? value : markup(escapeHtml(pythonStr(value)))),
  forceescape: (value) => markup(escapeHtml(pythonStr(value))),
  format: (value, positional, keywords) =>
    str(percentFormat(pythonStr(value), keywords.size > 0 ? dict(new Map(keywords)) : tuple(positional))),
  first: (value) => iterate(value)[0] ?? undefinedValue({ hint: 'No first item, sequence was empty.' }),
  float: (value, positional, keywords) => toFloat(value, option(positional, keywords, 0, 'default') ?? float(0)),
  indent,
  int: (value, positional, keywords) => toInteger(value, option(positional, keywords, 0, 'default') ?? int(0)),
  items: (value) => {
    if (is.undefined(value)) return list([]);
    if (!is.object(value)) throw new TemplateRuntimeError('TypeError', `Can only get item pairs from a mapping.`);
    return list([...value.value].map(([key, item]) => tuple([decodeKey(key), item])));
  },
  join: (value, positional, keywords) => {
    const separator = pythonStr(option(positional, keywords, 0, 'd') ?? str(''));
    const attribute = option(positional, keywords, 1, 'attribute');
    const getter = attribute === undefined ? (item: JinjaValue) => item : attributeGetter(attribute);
    return str(
      iterate(value)
        .map((item) => pythonStr(getter(item)))
        .join(separator),
    );
  },
  last: (value) => {
    const items = iterate(value);
    return items[items.length - 1] ?? undefinedValue({ hint: 'No last item, sequence was empty.' });
  },
  length: (value) => int(length(value)),
  list: (value) => list(iterate(value).slice()),
  lower: (value) => str(pythonStr(value).toLowerCase()),
  max: (value) => aggregate(value, 1),
  min: (value) => aggregate(value, -1),
  reject: selectFilter(false, false),
  rejectattr: selectFilter(false, true),
  replace: (value, positional, keywords) => {
    const [old, replacement] = [pythonStr(positional[0] ?? str('')), pythonStr(positional[1] ?? str(''))];
    const count = Number((option(positional, keywords, 2, 'count') ?? int(-1)).value);
    const parts = pythonStr(value).split(old);
    if (count < 0) return str(parts.join(replacement));
    let out = parts[0]!;
    for (let i = 1; i < parts.length; i++) out += (i <= count ? replacement : old) + parts[i];
    return str(out);
  },
  reverse: (value) =>
    is.string(value) ? str(Array.from(value.value).reverse().join('')) : list(iterate(value).slice().reverse()),
  round: (value, positional, keywords) => {
    if (!is.number(value)) {
      throw new TemplateRuntimeError('TypeError', `type ${pythonTypeName(value)} doesn't define __round__ method`);
    }
    const precision = Number((option(positional, keywords, 0, 'precision') ?? int(0)).value);
    const method = pythonStr(option(positional, keywords, 1, 'method') ?? str('common'));
    const scale = 10 ** precision;
    const number = Number(value.value);
    if (method === 'ceil') return float(Math.ceil(number * scale) / scale);
    if (method === 'floor') return float(Math.floor(number * scale) / scale);
    return float(roundHalfEven(number, precision));
  },
  safe: (value) => (isMarkup(value) ? value : markup(pythonStr(value))),
  select: selectFilter(true, false),
  selectattr: selectFilter(true, true),
  sort: (value, positional, keywords) => {
    const reverse = truthy(option(positional, keywords, 0, 'reverse'));
    const caseSensitive = truthy(option(positional, keywords, 1, 'case_sensitive'));
    const attribute = option(positional, keywords, 2, 'attribute');
    const getter = attribute === undefined ? (item: JinjaValue) => item : attributeGetter(attribute);
    const items = iterate(value).slice();
    items.sort((left, right) => {
      const order = pythonCompare(sortKey(getter(left), caseSensitive), sortKey(getter(right), caseSensitive));
      return reverse ? -order : order;
    });
    return list(items);
  },
  string: (value) => str(pythonStr(value)),
  sum: (value, positional, keywords) => {
    const attribute = option(positional, keywords, 0, 'attribute');
    const getter = attribute === undefined ? (item: JinjaValue) => item : attributeGetter(attribute);
    let total: JinjaValue = option(positional, keywords, 1, 'start') ?? int(0);
    for (const item of iterate(value)) {
      const next = getter(item);
      const sum = Number(total.value) + Number(next.value);
      total = is.float(total) || is.float(next) ? float(sum) : int(sum);
    }
    return total;
  },
  title: (value) =>
    str(pythonStr(value).replace(/\p{L}+/gu, (word) => word.charAt(0).toUpperCase() + word.slice(1).toLowerCase())),
  tojson,
  trim: (value, positional, keywords) =>
    str(stripChars(pythonStr(value), option(positional, keywords, 0, 'chars'), true, true)),
  unique: (value, positional, keywords) => {
    const caseSensitive = truthy(option(positional, keywords, 0, 'case_sensitive'));
    const attribute = option(positional, keywords, 1, 'attribute');
    const getter = attribute === undefined ? (item: JinjaValue) => item : attributeGetter(attribute);
    const seen: JinjaValue[] = [];
    const out: JinjaValue[] = [];
    for (const item of iterate(value)) {
      const key = sortKey(getter(item), caseSensitive);
      if (!seen.some((other) => pythonEquals(other, key))) {
        seen.push(key);
        out.push(item);
      }
    }
    return list(out);
  },
  upper: (value) => str(pythonStr(value).toUpperCase()),
  wordcount: (value) => int(pythonStr(value).split(/\s+/u).filter(Boolean).length),
};

/** The filter table, including `map`, which applies another filter or looks up an attribute on each item. */
export function createFilters(): ReadonlyMap<string, TemplateFilter> {
  const filters = new Map(Object.entries(BASE_FILTERS));
  filters.set('d', BASE_FILTERS.default!);
  filters.set('e', BASE_FILTERS.escape!);
  filters.set('map', (value, positional, keywords) => {
    const attribute = keywords.get('attribute');
    if (attribute !== undefined) {
      const getter = attributeGetter(attribute, keywords.get('default'));
      return list(iterate(value).map(getter));
    }
    const [name, ...args] = positional;
    if (name === undefined) return list(iterate(value).slice());
    const filter = filters.get(pythonStr(name));
    if (filter === undefined) throw new TemplateRuntimeError('TemplateError', `No filter named '${pythonStr(name)}'.`);
    return list(iterate(value).map((item) => filter(item, args, new Map())));
  });
  return filters;
}
