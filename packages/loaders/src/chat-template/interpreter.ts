import { type Environment, Interpreter } from '@huggingface/jinja';
import { createFilters, iterate, type TemplateFilter } from './filters.js';
import { evaluateForLoop, LoopControl } from './for-loop.js';
import { getAttribute, getItem, splitArguments } from './methods.js';
import { escapeArgument, escapedText, isMarkup, markup } from './markup.js';
import { describeNode } from './node-description.js';
import { percentFormat } from './percent-format.js';
import {
  failUndefined,
  pythonCompare,
  pythonEquals,
  pythonStr,
  pythonTypeName,
  TemplateRuntimeError,
} from './python-semantics.js';
import {
  bool,
  encodeKey,
  float,
  int,
  is,
  type JinjaValue,
  list,
  str,
  tuple,
  undefinedInfo,
  undefinedValue,
  Values,
} from './runtime-values.js';
import { payloadLength, RenderLimitError, renderBudget } from './render-budget.js';
import { TEST_FILTER } from './token-rewrites.js';
import { getTest, pythonContains } from './tests.js';

/**
 * The interpreter of `@huggingface/jinja`, extended to behave as jinja2 does where chat templates notice: Python
 * `str()` of printed values, Python operators (`+` refuses `str + dict`, `==` compares lists and dicts by value),
 * jinja2's `Undefined` (an empty iterable that renders as nothing but fails when its attributes are read), the full
 * filter and test tables, Python methods of `str`/`dict`/`list`, and the immutable sandbox. The package evaluates
 * every node through the public `evaluate` method, so overriding it is enough to take over the nodes listed below;
 * everything else (statements, macros, loops, slices, assignments) stays the package's own.
 */

/** A syntax node, as the package's parser produces it (only the fields read here are named). */
interface Node {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** A node that evaluates to a value computed beforehand (lets the package's own statements reuse our evaluation). */
const valueNode = (value: JinjaValue): Node => ({ type: 'StrataPrecomputedValue', value });

/** Statement kinds whose result is not output (they return the package's `NullValue` as a marker). */
const SILENT_STATEMENTS = new Set(['Set', 'Macro', 'Comment', 'Break', 'Continue']);

const FILTERS = createFilters();

function addValues(left: JinjaValue, right: JinjaValue): JinjaValue {
  if (is.number(left) && is.number(right)) {
    const sum = Number(left.value) + Number(right.value);
    return is.float(left) || is.float(right) ? float(sum) : int(sum);
  }
  if (is.string(left) && is.string(right)) {
    renderBudget().length(left.value.length + right.value.length, "the result of '+'");
    // Markup on either side escapes the plain string it meets (MarkupSafe's `__add__`/`__radd__`).
    if (isMarkup(left) || isMarkup(right)) return markup(escapedText(left) + escapedText(right));
    return str(left.value + right.value);
  }
  if (is.array(left) && is.array(right) && is.tuple(left) === is.tuple(right)) {
    renderBudget().length(left.value.length + right.value.length, "the result of '+'");
    return is.tuple(left) ? tuple([...left.value, ...right.value]) : list([...left.value, ...right.value]);
  }
  if (is.string(left) || is.array(left)) {
    const name = pythonTypeName(left);
    throw new TemplateRuntimeError(
      'TypeError',
      `can only concatenate ${name} (not "${pythonTypeName(right)}") to ${name}`,
    );
  }
  throw unsupported('+', left, right);
}

function unsupported(operator: string, left: JinjaValue, right: JinjaValue): TemplateRuntimeError {
  return new TemplateRuntimeError(
    'TypeError',
    `unsupported operand type(s) for ${operator}: '${pythonTypeName(left)}' and '${pythonTypeName(right)}'`,
  );
}

function arithmetic(operator: string, left: JinjaValue, right: JinjaValue): JinjaValue {
  if (operator === '+') return addValues(left, right);
  if (operator === '*') {
    if (is.number(left) && is.number(right)) {
      const product = Number(left.value) * Number(right.value);
      return is.float(left) || is.float(right) ? float(product) : int(product);
    }
    const [sequence, count] = is.number(left) ? [right, left] : [left, right];
    if (is.integer(count) || is.boolean(count)) {
      const times = Math.max(0, Number(count.value));
      if (is.string(sequence) || is.array(sequence)) {
        renderBudget().length(times * sequence.value.length, "the result of '*'");
      }
      if (is.string(sequence)) return str(sequence.value.repeat(times));
      if (is.array(sequence)) return list(Array.from({ length: times }, () => sequence.value).flat());
    }
    throw unsupported('*', left, right);
  }
  if (operator === '%' && is.string(left)) {
    if (!isMarkup(left)) return str(percentFormat(left.value, right));
    const escaped = is.array(right)
      ? (is.tuple(right) ? tuple : list)(right.value.map(escapeArgument))
      : is.object(right)
        ? new Values.Object(new Map([...right.value].map(([key, item]) => [key, escapeArgument(item)])))
        : escapeArgument(right);
    return markup(percentFormat(left.value, escaped));
  }
  if (!(is.number(left) && is.number(right))) throw unsupported(operator, left, right);
  const leftNumber = Number(left.value);
  const rightNumber = Number(right.value);
  const isFloat = is.float(left) || is.float(right);
  const zero = () => new TemplateRuntimeError('ZeroDivisionError', 'division by zero');
  switch (operator) {
    case '-':
      return isFloat ? float(leftNumber - rightNumber) : int(leftNumber - rightNumber);
    case '/':
      if (rightNumber === 0) throw zero();
      return float(leftNumber / rightNumber);
    case '//':
      if (rightNumber === 0) throw zero();
      return isFloat ? float(Math.floor(leftNumber / rightNumber)) : int(Math.floor(leftNumber / rightNumber));
    case '%': {
      if (rightNumber === 0) throw zero();
      const remainder = ((leftNumber % rightNumber) + rightNumber) % rightNumber;
      return isFloat ? float(remainder) : int(remainder);
    }
    case '**':
      return isFloat || rightNumber < 0 ? float(leftNumber ** rightNumber) : int(leftNumber ** rightNumber);
    default:
      throw unsupported(operator, left, right);
  }
}

/** The interpreter chat templates run on (see the module comment). */
export class ChatTemplateInterpreter extends Interpreter {
  /** Evaluates one template node: the nodes this interpreter handles itself (jinja2 semantics), else the base interpreter's. */
  override evaluate(
    statement: Parameters<Interpreter['evaluate']>[0],
    environment: Environment,
  ): ReturnType<Interpreter['evaluate']> {
    const node = statement as unknown as Node | undefined;
    const budget = renderBudget();
    budget.step();
    budget.enter();
    try {
      const result = node === undefined ? undefined : this.evaluateNode(node, environment);
      return (result ?? super.evaluate(statement, environment)) as ReturnType<Interpreter['evaluate']>;
    } catch (error) {
      throw locate(error, node);
    } finally {
      budget.leave();
    }
  }

  private value(node: unknown, environment: Environment): JinjaValue {
    return this.evaluate(node as never, environment) as unknown as JinjaValue;
  }

  /** Evaluates the nodes this layer takes over; `undefined` hands the node back to the package. */
  private evaluateNode(node: Node, environment: Environment): JinjaValue | undefined {
    switch (node.type) {
      case 'StrataPrecomputedValue':
        return node.value as JinjaValue;
      case 'Identifier': {
        const name = (node as unknown as { value: string }).value;
        const found = environment.lookupVariable(name) as unknown as JinjaValue;
        return is.undefined(found) && undefinedInfo(found).hint === undefined
          ? undefinedValue({ hint: `'${name}' is undefined` })
          : found;
      }
      case 'MemberExpression':
        return this.member(node, environment);
      case 'CallExpression':
        return this.call(node, environment);
      case 'FilterExpression':
        return this.filter(this.value(node.operand, environment), node.filter as Node, environment);
      case 'FilterStatement':
        return this.filter(
          this.value({ type: 'Program', body: node.body }, environment),
          node.filter as Node,
          environment,
        );
      case 'TestExpression': {
        const operand = this.value(node.operand, environment);
        const result = getTest((node.test as { value: string }).value)(operand);
        return bool(node.negate ? !result : result);
      }
      case 'BinaryExpression':
        return this.binary(node, environment);
      case 'UnaryExpression': {
        const operator = (node.operator as { value: string }).value;
        if (operator === 'not') return bool(!this.value(node.argument, environment).__bool__().value);
        const argument = this.value(node.argument, environment);
        if (is.undefined(argument)) failUndefined(argument);
        if (!is.number(argument)) {
          throw new TemplateRuntimeError(
            'TypeError',
            `bad operand type for unary ${operator}: '${pythonTypeName(argument)}'`,
          );
        }
        const number = operator === '-' ? -Number(argument.value) : Number(argument.value);
        return is.float(argument) ? float(number) : int(number);
      }
      case 'For':
        return evaluateForLoop(node, environment, {
          value: (expression, scope) => this.value(expression, scope),
          render: (body, scope) => String(this.value({ type: 'Program', body }, scope).value),
        });
      case 'Break':
        throw new LoopControl('break');
      case 'Continue':
        throw new LoopControl('continue');
      case 'ObjectLiteral': {
        const entries = new Map<string, JinjaValue>();
        for (const [key, value] of node.value as Map<Node, Node>) {
          entries.set(encodeKey(this.value(key, environment)), this.value(value, environment));
        }
        return new Values.Object(entries);
      }
      default:
        return undefined;
    }
  }

  private member(node: Node, environment: Environment): JinjaValue | undefined {
    const object = this.value(node.object, environment);
    if (is.undefined(object)) failUndefined(object);
    const property = node.property as Node;
    if (node.computed) {
      if (property.type === 'SliceExpression') {
        return super.evaluate({ ...node, object: valueNode(object) } as never, environment) as unknown as JinjaValue;
      }
      return getItem(object, this.value(property, environment));
    }
    if (property.type === 'IntegerLiteral')
      return getItem(object, int((property as unknown as { value: number }).value));
    return getAttribute(object, (property as unknown as { value: string }).value);
  }

  private arguments(args: readonly Node[], environment: Environment): JinjaValue[] {
    const positional: JinjaValue[] = [];
    const keywords = new Map<string, JinjaValue>();
    for (const argument of args) {
      if (argument.type === 'SpreadExpression') positional.push(...iterate(this.value(argument.argument, environment)));
      else if (argument.type === 'KeywordArgumentExpression') {
        keywords.set((argument.key as { value: string }).value, this.value(argument.value, environment));
      } else if (argument.type === 'KeywordSpreadExpression') {
        const mapping = this.value(argument.argument, environment);
        if (!is.object(mapping)) throw new TemplateRuntimeError('TypeError', 'argument after ** must be a mapping');
        for (const [key, value] of mapping.value) keywords.set(key, value);
      } else positional.push(this.value(argument, environment));
    }
    if (keywords.size > 0) positional.push(new Values.KeywordArguments(keywords));
    return positional;
  }

  private call(node: Node, environment: Environment): JinjaValue {
    const callee = this.value(node.callee, environment);
    if (is.undefined(callee)) failUndefined(callee);
    if (!is.function(callee)) {
      throw new TemplateRuntimeError('TypeError', `'${pythonTypeName(callee)}' object is not callable`);
    }
    const args = this.arguments(node.args as Node[], environment);
    const result = callee.value(args, environment);
    renderBudget().length(payloadLength(result), 'the result of a call');
    return result;
  }

  private filter(operand: JinjaValue, filterNode: Node, environment: Environment): JinjaValue {
    const isCall = filterNode.type === 'CallExpression';
    const name = ((isCall ? filterNode.callee : filterNode) as { value: string }).value;
    const args = isCall ? this.arguments(filterNode.args as Node[], environment) : [];
    const [positional, keywords] = splitArguments(args);
    if (name === TEST_FILTER) {
      // A test with arguments, rewritten as a filter before parsing (see token-rewrites.ts).
      const [testName, negate, ...testArguments] = positional;
      const result = getTest(String(testName?.value))(operand, ...testArguments);
      return bool(negate?.value === true ? !result : result);
    }
    const filter: TemplateFilter | undefined = FILTERS.get(name);
    if (filter === undefined) throw new TemplateRuntimeError('TemplateError', `No filter named '${name}'.`);
    const result = filter(operand, positional, keywords);
    renderBudget().length(payloadLength(result), `the result of the filter '${name}'`);
    return result;
  }

  private binary(node: Node, environment: Environment): JinjaValue {
    const operator = (node.operator as { value: string }).value;
    const left = this.value(node.left, environment);
    if (operator === 'and') return left.__bool__().value ? this.value(node.right, environment) : left;
    if (operator === 'or') return left.__bool__().value ? left : this.value(node.right, environment);
    const right = this.value(node.right, environment);
    switch (operator) {
      case '==':
        return bool(pythonEquals(left, right));
      case '!=':
        return bool(!pythonEquals(left, right));
      case 'in':
        return bool(pythonContains(right, left));
      case 'not in':
        return bool(!pythonContains(right, left));
      case '~': {
        const [first, second] = [pythonStr(left), pythonStr(right)];
        renderBudget().length(first.length + second.length, "the result of '~'");
        return str(first + second);
      }
    }
    if (is.undefined(left)) failUndefined(left);
    if (is.undefined(right)) failUndefined(right);
    switch (operator) {
      case '<':
        return bool(pythonCompare(left, right) < 0);
      case '>':
        return bool(pythonCompare(left, right) > 0);
      case '<=':
        return bool(pythonCompare(left, right) <= 0);
      case '>=':
        return bool(pythonCompare(left, right) >= 0);
      default:
        return arithmetic(operator, left, right);
    }
  }
}

/**
 * Renders a block as jinja2 does: each expression printed with Python's `str()` (`None`, `True`, dict reprs),
 * undefined values as nothing, statements as their output.
 */
function evaluateBlock(this: ChatTemplateInterpreter, statements: Node[], environment: Environment): JinjaValue {
  let output = '';
  for (const statement of statements) {
    let value: JinjaValue;
    try {
      value = this.evaluate(statement as never, environment) as unknown as JinjaValue;
    } catch (error) {
      // `break`/`continue` keep what was written before them.
      if (error instanceof LoopControl) error.output = output + error.output;
      throw error;
    }
    if (!SILENT_STATEMENTS.has(statement.type)) {
      try {
        output += pythonStr(value);
      } catch (error) {
        throw locate(error, statement, true);
      }
      renderBudget().output(output.length);
    }
  }
  return str(output);
}

/** Names and literals are too small to say where; a recursion is best named by the call that recursed. */
function worthNaming(error: TemplateRuntimeError, node: Node): boolean {
  if (error instanceof RenderLimitError && error.limit === 'maxDepth') return node.type === 'CallExpression';
  return !['Identifier', 'StringLiteral', 'IntegerLiteral', 'FloatLiteral'].includes(node.type);
}

/**
 * Turns whatever went wrong while evaluating `node` into a {@link TemplateRuntimeError} that says where: the first
 * (innermost) node an error passes through is recorded. Errors that are not the template's own (a `RangeError` from a
 * stack overflow, a `TypeError` from the package's internals) become one too, so nothing foreign escapes a rendering.
 */
function locate(error: unknown, node: Node | undefined, printed = false): unknown {
  if (error instanceof LoopControl) return error;
  const located =
    error instanceof TemplateRuntimeError
      ? error
      : new TemplateRuntimeError(
          error instanceof RangeError && /call stack/i.test(error.message) ? 'RecursionError' : 'TemplateError',
          error instanceof RangeError && /call stack/i.test(error.message)
            ? 'maximum recursion depth exceeded'
            : `the template engine failed: ${error instanceof Error ? `${error.name}: ${error.message}` : String(error)}`,
        );
  if (located.where === undefined && node !== undefined && (printed || worthNaming(located, node))) {
    located.where = describeNode(node);
  }
  if (located !== error) located.cause = error;
  return located;
}
// The package renders blocks in a private method; this subclass (not the package) replaces it with jinja2's rules.
Object.defineProperty(ChatTemplateInterpreter.prototype, 'evaluateBlock', { value: evaluateBlock, writable: true });
