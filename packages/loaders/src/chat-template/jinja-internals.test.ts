import { readFileSync } from 'node:fs';
import { Environment, Interpreter, parse, tokenize } from '@huggingface/jinja';
import { describe, expect, it } from 'vitest';
import { ChatTemplateInterpreter } from './interpreter.js';
import { is, Values } from './runtime-values.js';

/**
 * The chat-template layer reaches into `@huggingface/jinja` past its documented API: it overrides the interpreter's
 * `evaluate` and its private `evaluateBlock`, obtains the value classes from values the interpreter makes, reads the
 * parser's node fields and the lexer's token types, and uses `Environment`'s variable table. Each test here pins one of
 * those facts, so that raising the exact version pinned in package.json fails here, not in a user's template.
 */

/** The first node of a one-statement template's syntax tree. */
function node(source: string): Record<string, unknown> {
  return parse(tokenize(source, { lstrip_blocks: true, trim_blocks: true })).body[0] as never;
}

describe('@huggingface/jinja internals this layer relies on', () => {
  it('is the exact version pinned in package.json', () => {
    const manifest = new URL('../../node_modules/@huggingface/jinja/package.json', import.meta.url);
    const installed = (JSON.parse(readFileSync(manifest, 'utf8')) as { version: string }).version;
    const pinned = (
      JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
        dependencies: Record<string, string>;
      }
    ).dependencies['@huggingface/jinja'];
    // Before raising the pin, check every other test in this file against the new version's source.
    expect(pinned).toMatch(/^\d+\.\d+\.\d+$/);
    expect(installed).toBe(pinned);
  });

  it('has a private evaluateBlock that renders statement lists, which the layer replaces', () => {
    expect(typeof (Interpreter.prototype as unknown as Record<string, unknown>).evaluateBlock).toBe('function');
    expect((ChatTemplateInterpreter.prototype as unknown as Record<string, unknown>).evaluateBlock).not.toBe(
      (Interpreter.prototype as unknown as Record<string, unknown>).evaluateBlock,
    );
  });

  it('evaluates every node through the public evaluate method', () => {
    const seen: string[] = [];
    class Spy extends Interpreter {
      override evaluate(statement: Parameters<Interpreter['evaluate']>[0], environment: Environment) {
        seen.push((statement as unknown as { type: string }).type);
        return super.evaluate(statement, environment);
      }
    }
    const program = parse(tokenize('{% if a %}{{ b.c }}{% endif %}'));
    const environment = new Environment();
    environment.set('a', true);
    environment.set('b', { c: 1 });
    new Spy(environment).run(program);
    expect(seen).toEqual(expect.arrayContaining(['If', 'Identifier', 'MemberExpression']));
  });

  it('makes values of the classes runtime-values.ts obtains, with type tags and Python truthiness', () => {
    const expected: Record<string, string> = {
      String: 'StringValue',
      Integer: 'IntegerValue',
      Float: 'FloatValue',
      Boolean: 'BooleanValue',
      Null: 'NullValue',
      Undefined: 'UndefinedValue',
      Array: 'ArrayValue',
      Tuple: 'TupleValue',
      Object: 'ObjectValue',
      KeywordArguments: 'KeywordArgumentsValue',
      Namespace: 'NamespaceValue',
      Function: 'FunctionValue',
    };
    for (const [name, Class] of Object.entries(Values)) {
      const value = new (Class as new (value: unknown) => { type: string; __bool__(): { value: boolean } })(
        name === 'Array' || name === 'Tuple'
          ? []
          : name.endsWith('s') || name === 'Object' || name === 'Namespace'
            ? new Map()
            : undefined,
      );
      expect(value.type, name).toBe(expected[name]);
      expect(typeof value.__bool__, name).toBe('function');
    }
    expect(is.string(new Values.String('a'))).toBe(true);
  });

  it('parses into the node types and fields the layer reads', () => {
    expect(node('{% for a, b in xs if a %}{{ a }}{% else %}e{% endfor %}')).toMatchObject({
      type: 'For',
      loopvar: { type: 'TupleLiteral' },
      iterable: { type: 'SelectExpression', lhs: { type: 'Identifier' }, test: { type: 'Identifier' } },
      body: expect.any(Array),
      defaultBlock: expect.any(Array),
    });
    expect(node('{{ a.b[c] }}')).toMatchObject({
      type: 'MemberExpression',
      computed: true,
      object: { type: 'MemberExpression', computed: false, property: { type: 'Identifier', value: 'b' } },
    });
    expect(node('{{ a[1:2] }}')).toMatchObject({ property: { type: 'SliceExpression' } });
    expect(node('{{ f(1, k=2, *xs, **kw) }}')).toMatchObject({
      type: 'CallExpression',
      callee: { type: 'Identifier', value: 'f' },
      args: [
        { type: 'IntegerLiteral', value: 1 },
        { type: 'KeywordArgumentExpression', key: { value: 'k' } },
        { type: 'SpreadExpression', argument: { type: 'Identifier' } },
        { type: 'KeywordSpreadExpression', argument: { type: 'Identifier' } },
      ],
    });
    expect(node('{{ a|f(1) }}')).toMatchObject({
      type: 'FilterExpression',
      operand: { type: 'Identifier' },
      filter: { type: 'CallExpression', callee: { value: 'f' } },
    });
    expect(node('{{ a is not none }}')).toMatchObject({
      type: 'TestExpression',
      negate: true,
      test: { value: 'none' },
    });
    expect(node('{{ a ~ b }}')).toMatchObject({ type: 'BinaryExpression', operator: { value: '~' } });
    expect(node('{{ -a }}')).toMatchObject({ type: 'UnaryExpression', operator: { value: '-' } });
    expect(node("{{ {'k': 1} }}")).toMatchObject({ type: 'ObjectLiteral', value: expect.any(Map) });
    expect(node('{% filter upper %}x{% endfilter %}')).toMatchObject({
      type: 'FilterStatement',
      body: expect.any(Array),
    });
    expect(node('{% set x = 1 %}')).toMatchObject({ type: 'Set' });
    expect(node('{% macro m() %}{% endmacro %}')).toMatchObject({ type: 'Macro' });
    expect(
      (node('{% for a in b %}{% break %}{% continue %}{% endfor %}').body as { type: string }[]).map((n) => n.type),
    ).toEqual(['Break', 'Continue']);
  });

  it('lexes into the token types the token rewrites match', () => {
    const types = new Set(tokenize("{{ a.b(1) is divisibleby(3) and [x] or {'k': 1e5} }}").map((token) => token.type));
    for (const type of [
      'Identifier',
      'Dot',
      'OpenParen',
      'CloseParen',
      'NumericLiteral',
      'OpenSquareBracket',
      'CloseSquareBracket',
      'OpenCurlyBracket',
      'CloseCurlyBracket',
      'StringLiteral',
    ]) {
      expect(types, type).toContain(type);
    }
  });

  it('keeps variables in an Environment table with lookup, set and a namespace function', () => {
    const environment = new Environment();
    expect(environment.variables).toBeInstanceOf(Map);
    expect((environment.variables.get('namespace') as unknown as { type: string }).type).toBe('FunctionValue');
    const child = new Environment(environment);
    child.setVariable('x', new Values.Integer(1) as never);
    expect((child.lookupVariable('x') as unknown as { value: number }).value).toBe(1);
    expect((environment.lookupVariable('x') as unknown as { type: string }).type).toBe('UndefinedValue');
  });
});
