/**
 * A short, source-like rendering of a syntax node of `@huggingface/jinja`'s parser, for error messages: the parser
 * keeps no line numbers, so a failure names the expression or statement it happened in (`{{ ns }}`, `range(n)`).
 */

/** A syntax node (only the fields read here are named). */
interface Node {
  readonly type: string;
  readonly [field: string]: unknown;
}

const LONGEST = 80;

/** The node as template text, clipped to a readable length. */
export function describeNode(node: unknown): string {
  const text = expression(node, 0);
  return text.length > LONGEST ? `${text.slice(0, LONGEST - 1)}…` : text;
}

function expression(input: unknown, depth: number): string {
  if (typeof input !== 'object' || input === null) return '…';
  const node = input as Node;
  if (depth > 6) return '…';
  const inner = (child: unknown) => expression(child, depth + 1);
  const list = (children: unknown) => (Array.isArray(children) ? children.map(inner).join(', ') : '');
  switch (node.type) {
    case 'Identifier':
      return String(node.value);
    case 'StringLiteral':
      return JSON.stringify(node.value);
    case 'IntegerLiteral':
    case 'FloatLiteral':
      return String(node.value);
    case 'ArrayLiteral':
      return `[${list(node.value)}]`;
    case 'TupleLiteral':
      return `(${list(node.value)})`;
    case 'ObjectLiteral':
      return '{…}';
    case 'MemberExpression': {
      const property = node.property as Node;
      return node.computed ? `${inner(node.object)}[${inner(property)}]` : `${inner(node.object)}.${inner(property)}`;
    }
    case 'CallExpression':
      return `${inner(node.callee)}(${list(node.args)})`;
    case 'FilterExpression':
      return `${inner(node.operand)}|${inner(node.filter)}`;
    case 'TestExpression':
      return `${inner(node.operand)} is ${node.negate ? 'not ' : ''}${inner(node.test)}`;
    case 'BinaryExpression':
      return `${inner(node.left)} ${(node.operator as { value?: unknown } | undefined)?.value ?? '?'} ${inner(node.right)}`;
    case 'UnaryExpression':
      return `${(node.operator as { value?: unknown } | undefined)?.value ?? '?'} ${inner(node.argument)}`;
    case 'KeywordArgumentExpression':
      return `${inner(node.key)}=${inner(node.value)}`;
    case 'For':
      return `{% for ${inner(node.loopvar)} in ${inner(node.iterable)} %}`;
    case 'If':
      return `{% if ${inner(node.test)} %}`;
    case 'Set':
      return `{% set ${inner(node.assignee)} = ${inner(node.value)} %}`;
    case 'Macro':
      return `{% macro ${inner(node.name)}(…) %}`;
    default:
      return node.type;
  }
}
