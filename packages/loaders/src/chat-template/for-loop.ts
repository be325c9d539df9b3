import { Environment } from '@huggingface/jinja';
import { iterate } from './filters.js';
import { pythonTypeName, TemplateRuntimeError } from './python-semantics.js';
import { renderBudget } from './render-budget.js';
import { bool, dict, fn, int, is, type JinjaValue, str, undefinedValue } from './runtime-values.js';

/**
 * jinja2's `for` loop: a fresh scope per iteration (assignments in the body do not carry over to the next iteration
 * nor leak out), the `loop` object (`index`, `first`, `last`, `previtem`, `cycle(…)`, …), the `if` filter, the `else`
 * block, and `break`/`continue` that keep what the iteration had already written.
 */

/** `{% break %}` or `{% continue %}` on its way to the loop; `output` is what the iteration wrote before it. */
export class LoopControl extends Error {
  /** Text the iteration had rendered before the `break`/`continue`; the loop appends it to its output. */
  output = '';

  constructor(readonly kind: 'break' | 'continue') {
    super(`{% ${kind} %} outside a loop`);
  }
}

/** A syntax node of the package's parser (only the fields read here are named). */
interface Node {
  readonly type: string;
  readonly [field: string]: unknown;
}

/** What the loop needs from the interpreter. */
export interface LoopEvaluator {
  /** Evaluates an expression. */
  value(node: unknown, environment: Environment): JinjaValue;
  /** Renders a list of statements. */
  render(statements: unknown, environment: Environment): string;
}

function assign(target: Node, value: JinjaValue, scope: Environment): void {
  if (target.type === 'Identifier') {
    scope.setVariable((target as unknown as { value: string }).value, value as never);
    return;
  }
  if (target.type !== 'TupleLiteral')
    throw new TemplateRuntimeError('TemplateError', `cannot assign to ${target.type}`);
  const targets = target.value as Node[];
  const values = is.array(value) || is.string(value) ? iterate(value) : undefined;
  if (values === undefined) {
    throw new TemplateRuntimeError('TypeError', `cannot unpack non-iterable ${pythonTypeName(value)} object`);
  }
  if (values.length !== targets.length) {
    throw new TemplateRuntimeError(
      'ValueError',
      values.length > targets.length
        ? `too many values to unpack (expected ${targets.length})`
        : `not enough values to unpack (expected ${targets.length}, got ${values.length})`,
    );
  }
  for (const [index, item] of targets.entries()) assign(item, values[index]!, scope);
}

function loopObject(items: JinjaValue[], index: number): JinjaValue {
  const length = items.length;
  return dict(
    new Map<string, JinjaValue>([
      ['index', int(index + 1)],
      ['index0', int(index)],
      ['revindex', int(length - index)],
      ['revindex0', int(length - index - 1)],
      ['first', bool(index === 0)],
      ['last', bool(index === length - 1)],
      ['length', int(length)],
      ['depth', int(1)],
      ['depth0', int(0)],
      ['previtem', index > 0 ? items[index - 1]! : undefinedValue({ hint: 'there is no previous item' })],
      ['nextitem', index < length - 1 ? items[index + 1]! : undefinedValue({ hint: 'there is no next item' })],
      [
        'cycle',
        fn((args) => {
          if (args.length === 0) throw new TemplateRuntimeError('TypeError', 'no items for cycling given');
          return args[index % args.length]!;
        }),
      ],
    ]),
  );
}

/** Runs a `For` node of the package's parser. */
export function evaluateForLoop(node: Node, environment: Environment, evaluator: LoopEvaluator): JinjaValue {
  const iterableNode = node.iterable as Node;
  const hasFilter = iterableNode.type === 'SelectExpression';
  const source = evaluator.value(hasFilter ? iterableNode.lhs : iterableNode, environment);
  const target = node.loopvar as Node;
  let items = iterate(source);
  if (hasFilter) {
    items = items.filter((item) => {
      const scope = new Environment(environment);
      assign(target, item, scope);
      return evaluator.value(iterableNode.test, scope).__bool__().value;
    });
  }

  let output = '';
  for (let index = 0; index < items.length; index++) {
    const scope = new Environment(environment);
    scope.setVariable('loop', loopObject(items, index) as never);
    assign(target, items[index]!, scope);
    try {
      output += evaluator.render(node.body, scope);
    } catch (error) {
      if (!(error instanceof LoopControl)) throw error;
      output += error.output;
      if (error.kind === 'break') break;
    } finally {
      renderBudget().output(output.length);
    }
  }
  if (items.length === 0 && Array.isArray(node.defaultBlock) && node.defaultBlock.length > 0) {
    output += evaluator.render(node.defaultBlock, new Environment(environment));
  }
  return str(output);
}
