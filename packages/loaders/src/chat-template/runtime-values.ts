import { Environment, Interpreter } from '@huggingface/jinja';

/**
 * The runtime value classes of `@huggingface/jinja`. The package exports only its interpreter, not its value classes,
 * so this module obtains each class once from a value the interpreter itself produces, and describes them with the
 * small structural types below. Values are told apart by their `type` tag, as the package itself does.
 */

/** One runtime value of the template engine (structural view of the package's `RuntimeValue`). */
export interface JinjaValue {
  /** The class tag: `StringValue`, `IntegerValue`, `ArrayValue`, … */
  readonly type: string;
  /** The payload: a JS primitive, an array of values, a Map of values, or a function. */
  value: unknown;
  /** Python truthiness. */
  __bool__(): { value: boolean };
}

/** Signature of a callable runtime value. */
export type JinjaFunction = (args: JinjaValue[], scope: Environment) => JinjaValue;

type ValueClass<T> = new (value: T) => JinjaValue;

const probeEnvironment = new Environment();
const probe = new Interpreter(probeEnvironment);
const evaluateNode = (node: Record<string, unknown>): JinjaValue =>
  probe.evaluate(node as never, probeEnvironment) as unknown as JinjaValue;
const classOf = <T>(value: unknown): ValueClass<T> => (value as { constructor: ValueClass<T> }).constructor;

let capturedKeywords: JinjaValue | undefined;
const functionValue = probeEnvironment.variables.get('namespace') as unknown as JinjaValue;
const FunctionClass = classOf<JinjaFunction>(functionValue);
probeEnvironment.variables.set(
  'capture',
  new FunctionClass((args) => {
    capturedKeywords = args[args.length - 1];
    return args[0]!;
  }) as never,
);
evaluateNode({
  type: 'CallExpression',
  callee: { type: 'Identifier', value: 'capture' },
  args: [{ type: 'KeywordArgumentExpression', key: { value: 'k' }, value: { type: 'IntegerLiteral', value: 1 } }],
});

/** The value classes, keyed by their tag. */
export const Values = {
  String: classOf<string>(evaluateNode({ type: 'StringLiteral', value: '' })),
  Integer: classOf<number>(evaluateNode({ type: 'IntegerLiteral', value: 0 })),
  Float: classOf<number>(evaluateNode({ type: 'FloatLiteral', value: 0.5 })),
  Boolean: classOf<boolean>(probeEnvironment.set('t', true)),
  Null: classOf<null>(probeEnvironment.set('n', null)),
  Undefined: classOf<undefined>(probeEnvironment.set('u', undefined)),
  Array: classOf<JinjaValue[]>(evaluateNode({ type: 'ArrayLiteral', value: [] })),
  Tuple: classOf<JinjaValue[]>(evaluateNode({ type: 'TupleLiteral', value: [] })),
  Object: classOf<Map<string, JinjaValue>>(evaluateNode({ type: 'ObjectLiteral', value: new Map() })),
  KeywordArguments: classOf<Map<string, JinjaValue>>(capturedKeywords),
  Namespace: classOf<Map<string, JinjaValue>>(
    (functionValue.value as JinjaFunction)([], probeEnvironment as never) as unknown,
  ),
  Function: FunctionClass,
} as const;

/** A template-level string. */
export const str = (value: string): JinjaValue => new Values.String(value);
/** A template-level integer. */
export const int = (value: number): JinjaValue => new Values.Integer(value);
/** A template-level float. */
export const float = (value: number): JinjaValue => new Values.Float(value);
/** A template-level boolean. */
export const bool = (value: boolean): JinjaValue => new Values.Boolean(value);
/** Python `None`. */
export const none = (): JinjaValue => new Values.Null(null);
/** A template-level list. */
export const list = (items: JinjaValue[]): JinjaValue => new Values.Array(items);
/** A template-level tuple. */
export const tuple = (items: JinjaValue[]): JinjaValue => new Values.Tuple(items);
/** A template-level dict. */
export const dict = (entries: Map<string, JinjaValue>): JinjaValue => new Values.Object(entries);
/** A callable. */
export const fn = (body: JinjaFunction): JinjaValue => new Values.Function(body);

/** An undefined value; `hint` is jinja2's message when it is used, `kind` the Python error class raised then. */
export interface UndefinedInfo {
  /** jinja2's message when the value is used (e.g. `No first item, sequence was empty.`); `'name' is undefined` when absent. */
  readonly hint?: string;
  /** The Python error class raised on use; `UndefinedError` when absent. */
  readonly kind?: 'UndefinedError' | 'SecurityError';
}

const UNDEFINED_INFO = Symbol('strata.undefined');

/** An undefined value that remembers why it is undefined (for jinja2's error messages). */
export function undefinedValue(info: UndefinedInfo = {}): JinjaValue {
  const value = new Values.Undefined(undefined);
  (value as unknown as Record<symbol, UndefinedInfo>)[UNDEFINED_INFO] = info;
  return value;
}

/** The reason recorded by {@link undefinedValue}, or none. */
export function undefinedInfo(value: JinjaValue): UndefinedInfo {
  return (value as unknown as Record<symbol, UndefinedInfo | undefined>)[UNDEFINED_INFO] ?? {};
}

/** Type guards by tag. */
export const is = {
  string: (value: JinjaValue): value is JinjaValue & { value: string } => value.type === 'StringValue',
  integer: (value: JinjaValue): value is JinjaValue & { value: number } => value.type === 'IntegerValue',
  float: (value: JinjaValue): value is JinjaValue & { value: number } => value.type === 'FloatValue',
  boolean: (value: JinjaValue): value is JinjaValue & { value: boolean } => value.type === 'BooleanValue',
  null: (value: JinjaValue): boolean => value.type === 'NullValue',
  undefined: (value: JinjaValue): boolean => value.type === 'UndefinedValue',
  /** A list or a tuple. */
  array: (value: JinjaValue): value is JinjaValue & { value: JinjaValue[] } =>
    value.type === 'ArrayValue' || value.type === 'TupleValue',
  tuple: (value: JinjaValue): boolean => value.type === 'TupleValue',
  /** A dict (keyword arguments included). */
  object: (value: JinjaValue): value is JinjaValue & { value: Map<string, JinjaValue> } =>
    value.type === 'ObjectValue' || value.type === 'KeywordArgumentsValue',
  namespace: (value: JinjaValue): value is JinjaValue & { value: Map<string, JinjaValue> } =>
    value.type === 'NamespaceValue',
  function: (value: JinjaValue): value is JinjaValue & { value: JinjaFunction } => value.type === 'FunctionValue',
  keywords: (value: JinjaValue): value is JinjaValue & { value: Map<string, JinjaValue> } =>
    value.type === 'KeywordArgumentsValue',
  /** An int, float or bool (Python numbers). */
  number: (value: JinjaValue): value is JinjaValue & { value: number | boolean } =>
    value.type === 'IntegerValue' || value.type === 'FloatValue' || value.type === 'BooleanValue',
};

/** Converts a plain JS value (JSON-like) into template values; functions become callables on the JS values. */
export function toJinja(input: unknown): JinjaValue {
  if (input === undefined) return undefinedValue();
  if (input === null) return none();
  switch (typeof input) {
    case 'string':
      return str(input);
    case 'number':
      return Number.isInteger(input) ? int(input) : float(input);
    case 'bigint':
      return int(Number(input));
    case 'boolean':
      return bool(input);
    case 'function':
      return fn((args) => toJinja((input as (...a: unknown[]) => unknown)(...args.map(fromJinja))));
    case 'object': {
      if (Array.isArray(input)) return list(input.map(toJinja));
      if (input instanceof Map) return dict(new Map([...input].map(([key, item]) => [String(key), toJinja(item)])));
      return dict(new Map(Object.entries(input as object).map(([key, item]) => [key, toJinja(item)])));
    }
    default:
      return str(String(input));
  }
}

/** Converts a template value back to a plain JS value. */
export function fromJinja(value: JinjaValue): unknown {
  if (is.array(value)) return value.value.map(fromJinja);
  if (is.object(value) || is.namespace(value)) {
    return Object.fromEntries([...value.value].map(([key, item]) => [key, fromJinja(item)]));
  }
  if (is.undefined(value)) return undefined;
  return value.value;
}

/**
 * Dict keys. The package's dicts are keyed by strings; jinja2 dicts may also be keyed by numbers, booleans or None
 * (`{0: 0, 512: 128}`). Such keys are stored under a tagged string and turned back into values when read.
 */
const KEY_TAG = '\u0000strata-key:';

/** The Map key under which a template value is stored (numbers equal as in Python: `1`, `1.0` and `True` coincide). */
export function encodeKey(key: JinjaValue): string {
  if (is.string(key)) return key.value;
  if (is.number(key)) return `${KEY_TAG}${Number(key.value)}`;
  if (is.null(key)) return `${KEY_TAG}None`;
  throw new TypeError(`unhashable type: '${key.type}'`);
}

/** The template value of a stored Map key. */
export function decodeKey(key: string): JinjaValue {
  if (!key.startsWith(KEY_TAG)) return str(key);
  const text = key.slice(KEY_TAG.length);
  if (text === 'None') return none();
  const number = Number(text);
  return Number.isInteger(number) ? int(number) : float(number);
}
