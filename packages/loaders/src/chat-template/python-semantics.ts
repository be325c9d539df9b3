import { renderBudget } from './render-budget.js';
import { decodeKey, is, type JinjaValue, undefinedInfo } from './runtime-values.js';
import { TemplateRuntimeError } from './template-runtime-error.js';

export { type TemplateErrorKind, TemplateRuntimeError } from './template-runtime-error.js';

/**
 * Python behaviour of template values, as jinja2 (which Hugging Face renders chat templates with) shows it: `str()`,
 * `repr()`, `==`, ordering, type names for error messages, and `json.dumps` for the `tojson` filter.
 */

/** Raises the error an undefined value carries when it is used (jinja2's `_fail_with_undefined_error`). */
export function failUndefined(value: JinjaValue, fallbackName?: string): never {
  const info = undefinedInfo(value);
  const hint = info.hint ?? (fallbackName === undefined ? 'value is undefined' : `'${fallbackName}' is undefined`);
  throw new TemplateRuntimeError(info.kind ?? 'UndefinedError', hint);
}

/** Python's type name of a value (`str`, `int`, `dict`, `NoneType`, …). */
export function pythonTypeName(value: JinjaValue): string {
  switch (value.type) {
    case 'StringValue':
      return 'str';
    case 'IntegerValue':
      return 'int';
    case 'FloatValue':
      return 'float';
    case 'BooleanValue':
      return 'bool';
    case 'NullValue':
      return 'NoneType';
    case 'UndefinedValue':
      return 'Undefined';
    case 'ArrayValue':
      return 'list';
    case 'TupleValue':
      return 'tuple';
    case 'ObjectValue':
    case 'KeywordArgumentsValue':
      return 'dict';
    case 'NamespaceValue':
      return 'Namespace';
    case 'FunctionValue':
      return 'function';
    default:
      return value.type;
  }
}

/** jinja2's `object_type_repr`: how an object is named in "has no attribute" messages. */
export function objectTypeRepr(value: JinjaValue): string {
  if (is.null(value)) return 'None';
  return `${pythonTypeName(value)} object`;
}

/** Python's `repr()` of a float. */
export function pythonFloat(value: number): string {
  if (Number.isNaN(value)) return 'nan';
  if (!Number.isFinite(value)) return value > 0 ? 'inf' : '-inf';
  if (Object.is(value, -0)) return '-0.0';
  const magnitude = Math.abs(value);
  if (magnitude >= 1e16 || (magnitude < 1e-4 && magnitude !== 0)) {
    const [mantissa, exponent] = value.toExponential().split('e') as [string, string];
    const sign = exponent.startsWith('-') ? '-' : '+';
    const digits = exponent.replace(/^[+-]/, '').padStart(2, '0');
    return `${mantissa}e${sign}${digits}`;
  }
  const text = String(value);
  return Number.isInteger(value) ? `${text}.0` : text;
}

const NON_PRINTABLE = /[\p{C}\p{Zl}\p{Zp}]|(?! )\p{Zs}/gu;

/** Python's `repr()` of a string. */
export function pythonStringRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let body = '';
  for (const char of text) {
    if (char === '\\') body += '\\\\';
    else if (char === quote) body += `\\${quote}`;
    else if (char === '\n') body += '\\n';
    else if (char === '\r') body += '\\r';
    else if (char === '\t') body += '\\t';
    else if (char.match(NON_PRINTABLE)) {
      const code = char.codePointAt(0)!;
      body +=
        code < 0x100
          ? `\\x${code.toString(16).padStart(2, '0')}`
          : code < 0x10000
            ? `\\u${code.toString(16).padStart(4, '0')}`
            : `\\U${code.toString(16).padStart(8, '0')}`;
    } else body += char;
  }
  return quote + body + quote;
}

/** Python's `repr()` of a value (how lists and dicts show their items). */
export function pythonRepr(value: JinjaValue): string {
  if (is.string(value)) return pythonStringRepr(value.value);
  if (is.undefined(value)) return 'Undefined';
  return pythonStr(value);
}

/** Python's `str()` of a value: what `{{ value }}`, `~` and `|string` produce. */
export function pythonStr(value: JinjaValue): string {
  switch (value.type) {
    case 'StringValue':
      return value.value as string;
    case 'IntegerValue':
      return String(value.value);
    case 'FloatValue':
      return pythonFloat(value.value as number);
    case 'BooleanValue':
      return value.value ? 'True' : 'False';
    case 'NullValue':
      return 'None';
    case 'UndefinedValue':
      return '';
    case 'ArrayValue':
      return printContainer(value.value, value.value as JinjaValue[], pythonRepr, '[', ']');
    case 'TupleValue':
      return printContainer(value.value, value.value as JinjaValue[], pythonRepr, '(', ')', ',');
    case 'ObjectValue':
    case 'KeywordArgumentsValue':
      return printContainer(
        value.value,
        value.value as Map<string, JinjaValue>,
        ([key, item]) => `${pythonRepr(decodeKey(key))}: ${pythonRepr(item)}`,
        '{',
        '}',
      );
    case 'NamespaceValue':
      return `<Namespace ${printContainer(
        value.value,
        value.value as Map<string, JinjaValue>,
        ([key, item]) => `${pythonStringRepr(key)}: ${pythonRepr(item)}`,
        '{',
        '}',
      )}>`;
    default:
      return '<function>';
  }
}

/** Containers being printed right now: Python prints a container inside itself as `[...]` or `{...}`. */
const printing = new Set<unknown>();

/**
 * Prints a list, tuple or mapping as Python's `repr` does: one level deeper in the render budget, the text checked
 * against its length limit as it grows, and a container met again inside itself shown as `[...]`/`{...}`.
 * `single` is what follows a lone item (the comma of a one-item tuple).
 */
function printContainer<T>(
  identity: unknown,
  items: Iterable<T>,
  print: (item: T) => string,
  open: string,
  close: string,
  single = '',
): string {
  if (printing.has(identity)) return `${open}...${close}`;
  const budget = renderBudget();
  return budget.nested(() => {
    printing.add(identity);
    try {
      const parts: string[] = [];
      let length = 2;
      for (const item of items) {
        const part = print(item);
        length += part.length + 2;
        budget.length(length, 'a printed value');
        parts.push(part);
      }
      return open + parts.join(', ') + (parts.length === 1 ? single : '') + close;
    } finally {
      printing.delete(identity);
    }
  });
}

/** Python's `==`. */
export function pythonEquals(left: JinjaValue, right: JinjaValue): boolean {
  if (is.number(left) && is.number(right)) return Number(left.value) === Number(right.value);
  if (is.string(left) && is.string(right)) return left.value === right.value;
  if (is.null(left) || is.null(right)) return is.null(left) && is.null(right);
  if (is.undefined(left) || is.undefined(right)) return is.undefined(left) && is.undefined(right);
  if (is.array(left) && is.array(right)) {
    if (is.tuple(left) !== is.tuple(right) || left.value.length !== right.value.length) return false;
    return renderBudget().nested(() => left.value.every((item, i) => pythonEquals(item, right.value[i]!)));
  }
  if (is.object(left) && is.object(right)) {
    if (left.value.size !== right.value.size) return false;
    return renderBudget().nested(() => {
      for (const [key, item] of left.value) {
        const other = right.value.get(key);
        if (other === undefined || !pythonEquals(item, other)) return false;
      }
      return true;
    });
  }
  return left === right;
}

/** Python's ordering (`<`): numbers with numbers, strings by code point, sequences element-wise. */
export function pythonCompare(left: JinjaValue, right: JinjaValue): number {
  if (is.number(left) && is.number(right)) {
    const leftNumber = Number(left.value);
    const rightNumber = Number(right.value);
    return leftNumber < rightNumber ? -1 : leftNumber > rightNumber ? 1 : 0;
  }
  if (is.string(left) && is.string(right)) return compareCodePoints(left.value, right.value);
  if (is.array(left) && is.array(right)) {
    const length = Math.min(left.value.length, right.value.length);
    return renderBudget().nested(() => {
      for (let i = 0; i < length; i++) {
        const order = pythonCompare(left.value[i]!, right.value[i]!);
        if (order !== 0) return order;
      }
      return left.value.length - right.value.length;
    });
  }
  throw new TemplateRuntimeError(
    'TypeError',
    `'<' not supported between instances of '${pythonTypeName(left)}' and '${pythonTypeName(right)}'`,
  );
}

/** Orders strings by Unicode code point, as Python does. */
export function compareCodePoints(first: string, second: string): number {
  const left = Array.from(first);
  const right = Array.from(second);
  const length = Math.min(left.length, right.length);
  for (let i = 0; i < length; i++) {
    const difference = left[i]!.codePointAt(0)! - right[i]!.codePointAt(0)!;
    if (difference !== 0) return difference;
  }
  return left.length - right.length;
}

/** Options of Python's `json.dumps` that chat templates pass through `tojson`. */
export interface JsonDumpOptions {
  /** Spaces (or the string) per level; `null` keeps everything on one line. */
  readonly indent?: number | string | null;
  /** `[item separator, key separator]`; defaults as Python: `[', ', ': ']`, or `[',', ': ']` with an indent. */
  readonly separators?: readonly [string, string] | null;
  /** Sorts object keys by code point. */
  readonly sortKeys?: boolean;
  /** Escapes every non-ASCII character as `\uXXXX` (off in Hugging Face's `tojson`). */
  readonly ensureAscii?: boolean;
}

function jsonString(text: string, ensureAscii: boolean): string {
  const encoded = JSON.stringify(text);
  if (!ensureAscii) return encoded;
  return encoded.replace(
    /[\u007f-\uffff]/g,
    (character) => `\\u${character.charCodeAt(0).toString(16).padStart(4, '0')}`,
  );
}

/** Python's `json.dumps(value, ensure_ascii=False, …)` of a template value. */
export function jsonDumps(value: JinjaValue, options: JsonDumpOptions = {}): string {
  const indent =
    options.indent === null || options.indent === undefined
      ? null
      : typeof options.indent === 'number'
        ? ' '.repeat(Math.max(0, options.indent))
        : options.indent;
  const [itemSeparator, keySeparator] = options.separators ?? (indent === null ? [', ', ': '] : [',', ': ']);
  const ensureAscii = options.ensureAscii ?? false;

  const budget = renderBudget();
  const dumping = new Set<unknown>();
  const dump = (item: JinjaValue, depth: number): string => {
    switch (item.type) {
      case 'StringValue':
        return jsonString(item.value as string, ensureAscii);
      case 'IntegerValue':
        return String(item.value);
      case 'FloatValue': {
        const number = item.value as number;
        if (Number.isNaN(number)) return 'NaN';
        if (!Number.isFinite(number)) return number > 0 ? 'Infinity' : '-Infinity';
        return pythonFloat(number);
      }
      case 'BooleanValue':
        return item.value ? 'true' : 'false';
      case 'NullValue':
        return 'null';
      case 'ArrayValue':
      case 'TupleValue':
      case 'ObjectValue':
      case 'KeywordArgumentsValue': {
        const isArray = is.array(item);
        if (dumping.has(item.value)) throw new TemplateRuntimeError('ValueError', 'Circular reference detected');
        dumping.add(item.value);
        let length = 0;
        const counted = (part: string) => {
          length += part.length + 2;
          budget.length(length, 'a tojson value');
          return part;
        };
        const parts = budget.nested(() =>
          isArray
            ? (item.value as JinjaValue[]).map((child) => counted(dump(child, depth + 1)))
            : sortedEntries(item.value as Map<string, JinjaValue>, options.sortKeys ?? false).map(([key, child]) =>
                counted(`${jsonKey(key, ensureAscii)}${keySeparator}${dump(child, depth + 1)}`),
              ),
        );
        dumping.delete(item.value);
        const [open, close] = isArray ? ['[', ']'] : ['{', '}'];
        if (parts.length === 0) return open + close;
        if (indent === null) return open + parts.join(itemSeparator) + close;
        const inner = `\n${indent.repeat(depth + 1)}`;
        return `${open}${inner}${parts.join(itemSeparator + inner)}\n${indent.repeat(depth)}${close}`;
      }
      default:
        throw new TemplateRuntimeError('TypeError', `Object of type ${pythonTypeName(item)} is not JSON serializable`);
    }
  };
  return dump(value, 0);
}

/** json.dumps turns non-string keys into strings: `1` → `"1"`, `None` → `"null"`. */
function jsonKey(key: string, ensureAscii: boolean): string {
  const value = decodeKey(key);
  if (is.string(value)) return jsonString(value.value, ensureAscii);
  if (is.null(value)) return '"null"';
  return `"${is.float(value) ? pythonFloat(value.value) : String(value.value)}"`;
}

function sortedEntries(map: Map<string, JinjaValue>, sort: boolean): [string, JinjaValue][] {
  const entries = [...map];
  return sort ? entries.sort(([firstKey], [secondKey]) => compareCodePoints(firstKey, secondKey)) : entries;
}
