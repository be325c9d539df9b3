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
  ['defined', (v) => !is.undefined(v)],
  ['undefined', (v) => is.undefined(v)],
  ['none', (v) => is.null(v)],
  ['boolean', (v) => is.boolean(v)],
  ['true', (v) => is.boolean(v) && v.value === true],
  ['false', (v) => is.boolean(v) && v.value === false],
  ['integer', (v) => is.integer(v)],
  ['float', (v) => is.float(v)],
  ['number', (v) => is.number(v)],
  ['string', (v) => is.string(v)],
  ['mapping', (v) => is.object(v)],
  ['iterable', (v) => is.array(v) || is.string(v) || is.object(v) || is.undefined(v)],
  ['sequence', (v) => is.array(v) || is.string(v) || is.object(v) || is.undefined(v)],
  ['callable', (v) => is.function(v)],
  ['odd', (v) => Number(v.value) % 2 !== 0],
  ['even', (v) => Number(v.value) % 2 === 0],
  ['divisibleby', (v, n) => Number(v.value) % Number(needsArgument('divisibleby', n).value) === 0],
  ['lower', (v) => is.string(v) && v.value === v.value.toLowerCase()],
  ['upper', (v) => is.string(v) && v.value === v.value.toUpperCase()],
  ['sameas', (v, other) => v === other || (v.type === needsArgument('sameas', other).type && v.value === other.value)],
  ['in', (v, container) => contains(needsArgument('in', container), v)],
  ['equalto', (v, o) => pythonEquals(v, needsArgument('equalto', o))],
  ['eq', (v, o) => pythonEquals(v, needsArgument('eq', o))],
  ['==', (v, o) => pythonEquals(v, needsArgument('==', o))],
  ['ne', (v, o) => !pythonEquals(v, needsArgument('ne', o))],
  ['!=', (v, o) => !pythonEquals(v, needsArgument('!=', o))],
  ['lt', (v, o) => pythonCompare(v, needsArgument('lt', o)) < 0],
  ['lessthan', (v, o) => pythonCompare(v, needsArgument('lessthan', o)) < 0],
  ['<', (v, o) => pythonCompare(v, needsArgument('<', o)) < 0],
  ['le', (v, o) => pythonCompare(v, needsArgument('le', o)) <= 0],
  ['<=', (v, o) => pythonCompare(v, needsArgument('<=', o)) <= 0],
  ['gt', (v, o) => pythonCompare(v, needsArgument('gt', o)) > 0],
  ['greaterthan', (v, o) => pythonCompare(v, needsArgument('greaterthan', o)) > 0],
  ['>', (v, o) => pythonCompare(v, needsArgument('>', o)) > 0],
  ['ge', (v, o) => pythonCompare(v, needsArgument('ge', o)) >= 0],
  ['>=', (v, o) => pythonCompare(v, needsArgument('>=', o)) >= 0],
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
