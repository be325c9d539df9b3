import { pythonCompare, pythonEquals, pythonStr, pythonTypeName, TemplateRuntimeError } from './python-semantics.js';
import { encodeKey, is, type JinjaValue } from './runtime-values.js';

/**
 * jinja2's tests (`x is defined`, `selectattr('a', 'equalto', 1)`) with Python semantics. jinja2's `Undefined` is an
 * empty iterable, so `undefined is iterable` holds.
 */
export type TemplateTest = (value: JinjaValue, ...args: JinjaValue[]) => boolean;

const needsArgument = (name: string, value: JinjaValue | undefined): JinjaValue => {
  if (value === undefined) throw new TemplateRuntimeError('TypeError', `test '${name}' needs an argument`);
  return value;
};

const contains = (container: JinjaValue, value: JinjaValue): boolean => {
  if (is.string(container)) return container.value.includes(pythonStr(value));
  if (is.array(container)) return container.value.some((item) => pythonEquals(item, value));
  if (is.object(container)) return !is.array(value) && container.value.has(encodeKey(value));
  return false;
};

/** Every test, by name (aliases included). */
export const TESTS: ReadonlyMap<string, TemplateTest> = new Map<string, TemplateTest>([
  ['defined', (value) => !is.undefined(value)],
  ['undefined', (value) => is.undefined(value)],
  ['none', (value) => is.null(value)],
  ['boolean', (value) => is.boolean(value)],
  ['true', (value) => is.boolean(value) && value.value === true],
  ['false', (value) => is.boolean(value) && value.value === false],
  ['integer', (value) => is.integer(value)],
  ['float', (value) => is.float(value)],
  ['number', (value) => is.number(value)],
  ['string', (value) => is.string(value)],
  ['mapping', (value) => is.object(value)],
  ['iterable', (value) => is.array(value) || is.string(value) || is.object(value) || is.undefined(value)],
  ['sequence', (value) => is.array(value) || is.string(value) || is.object(value) || is.undefined(value)],
  // Undefined has `__call__` (which raises), so Python's callable() is true for it.
  ['callable', (value) => is.function(value) || is.undefined(value)],
  ['odd', (value) => Number(value.value) % 2 !== 0],
  ['even', (value) => Number(value.value) % 2 === 0],
  ['divisibleby', (value, divisor) => Number(value.value) % Number(needsArgument('divisibleby', divisor).value) === 0],
  ['lower', (value) => is.string(value) && value.value === value.value.toLowerCase()],
  ['upper', (value) => is.string(value) && value.value === value.value.toUpperCase()],
  [
    'sameas',
    (value, other) =>
      value === other || (value.type === needsArgument('sameas', other).type && value.value === other.value),
  ],
  ['in', (value, container) => contains(needsArgument('in', container), value)],
  ['equalto', (value, other) => pythonEquals(value, needsArgument('equalto', other))],
  ['eq', (value, other) => pythonEquals(value, needsArgument('eq', other))],
  ['==', (value, other) => pythonEquals(value, needsArgument('==', other))],
  ['ne', (value, other) => !pythonEquals(value, needsArgument('ne', other))],
  ['!=', (value, other) => !pythonEquals(value, needsArgument('!=', other))],
  ['lt', (value, other) => pythonCompare(value, needsArgument('lt', other)) < 0],
  ['lessthan', (value, other) => pythonCompare(value, needsArgument('lessthan', other)) < 0],
  ['<', (value, other) => pythonCompare(value, needsArgument('<', other)) < 0],
  ['le', (value, other) => pythonCompare(value, needsArgument('le', other)) <= 0],
  ['<=', (value, other) => pythonCompare(value, needsArgument('<=', other)) <= 0],
  ['gt', (value, other) => pythonCompare(value, needsArgument('gt', other)) > 0],
  ['greaterthan', (value, other) => pythonCompare(value, needsArgument('greaterthan', other)) > 0],
  ['>', (value, other) => pythonCompare(value, needsArgument('>', other)) > 0],
  ['ge', (value, other) => pythonCompare(value, needsArgument('ge', other)) >= 0],
  ['>=', (value, other) => pythonCompare(value, needsArgument('>=', other)) >= 0],
]);

/** Looks a test up, failing as jinja2 does for an unknown name. */
export function getTest(name: string): TemplateTest {
  const test = TESTS.get(name);
  if (test === undefined) throw new TemplateRuntimeError('TemplateError', `No test named '${name}'.`);
  return test;
}

/** Python's `value in container` (jinja2 lets `x in undefined` be false). */
export function pythonContains(container: JinjaValue, value: JinjaValue): boolean {
  if (is.undefined(container)) return false;
  if (is.string(container) && !is.string(value)) {
    throw new TemplateRuntimeError('TypeError', "'in <string>' requires string as left operand");
  }
  if (!(is.string(container) || is.array(container) || is.object(container))) {
    throw new TemplateRuntimeError('TypeError', `argument of type '${pythonTypeName(container)}' is not iterable`);
  }
  return contains(container, value);
}
