import { StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { ChatTemplate } from './chat-template.js';
import type { ChatTemplateLimits } from './render-budget.js';

const render = (source: string, limits?: ChatTemplateLimits) =>
  new ChatTemplate(source, limits === undefined ? {} : { limits }).render({ messages: [] });

/** The TEMPLATE_ERROR a rendering raises, checked to come within `milliseconds`. */
function templateError(source: string, limits?: ChatTemplateLimits, milliseconds = 3000): StrataError {
  const started = performance.now();
  try {
    render(source, limits);
  } catch (error) {
    expect(performance.now() - started).toBeLessThan(milliseconds);
    if (StrataError.isInstance(error, 'TEMPLATE_ERROR')) return error;
    throw new Error(`expected TEMPLATE_ERROR, got ${String(error)}`);
  }
  throw new Error('expected the rendering to fail');
}

describe('chat template render budget', () => {
  it.each([
    ['list repetition past the length cap', '{{ ([1] * 100000000)|length }}', 'maxLength', "'*'"],
    ['string repetition past the length cap', "{{ 'ab' * 100000000 }}", 'maxLength', "'*'"],
    ['a range past 100,000 items', '{{ range(100000000)|list }}', 'maxRange', 'range(100000000)'],
    [
      'a list doubled in a loop',
      '{% set ns = namespace(l=[1]) %}{% for i in range(40) %}{% set ns.l = ns.l + ns.l %}{% endfor %}',
      'maxLength',
      "'+'",
    ],
    [
      'a string doubled in a loop',
      "{% set ns = namespace(s='x') %}{% for i in range(40) %}{% set ns.s = ns.s ~ ns.s %}{% endfor %}",
      'maxLength',
      "'~'",
    ],
    ['output past its cap', "{% for i in range(100000) %}{{ 'x' * 1000 }}{% endfor %}", 'maxOutput', 'output'],
    ['a padding width past the cap', "{{ 'x'|center(100000000) }}", 'maxLength', 'center'],
    ['a zfill width past the cap', "{{ 'x'.zfill(100000000) }}", 'maxLength', 'zfill'],
    ['an indent width past the cap', "{{ 'a\nb'|indent(100000000) }}", 'maxLength', 'indent'],
    ['a recursive macro', '{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}', 'maxDepth', 'nesting deeper than'],
    [
      'a list nested 100,000 deep, printed',
      '{% set ns = namespace(l=[]) %}{% for i in range(100000) %}{% set ns.l = [ns.l] %}{% endfor %}{{ ns.l }}',
      'maxDepth',
      '(in ns.l)',
    ],
  ])('stops %s with TEMPLATE_ERROR naming the limit', (_name, source, limit, fragment) => {
    const error = templateError(source);
    expect(error.details.limit).toBe(limit);
    expect(error.message).toContain(limit);
    expect(error.message).toContain(fragment);
  });

  it('stops a template that runs too long at its step budget', () => {
    const source = '{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}';
    const error = templateError(source, { maxSteps: 50_000 });
    expect(error.details.limit).toBe('maxSteps');
    expect(error.message).toContain('maxSteps (50000)');
  });

  it('stops a template that runs too long at its time limit', () => {
    const source = '{% for i in range(100000) %}{% for j in range(100000) %}{{ j }}{% endfor %}{% endfor %}';
    const error = templateError(source, { maxMilliseconds: 200 });
    expect(error.details.limit).toBe('maxMilliseconds');
    expect(error.message).toContain('maxMilliseconds (200)');
  });

  it('says which expression failed and what kind of error jinja2 would raise', () => {
    const error = templateError('{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}');
    expect(error.details.kind).toBe('RecursionError');
    expect(error.message).toMatch(/\(in .*f\(n \+ 1\)/);
  });

  it('renders what stays inside the limits, and honours limits given as options', () => {
    expect(render('{{ range(100000)|length }} {{ ([0] * 4000000)|length }}')).toBe('100000 4000000');
    expect(render('{{ range(10)|length }}', { maxRange: 10 })).toBe('10');
    expect(templateError('{{ range(11)|length }}', { maxRange: 10 }).details.limit).toBe('maxRange');
    expect(templateError("{{ 'x' * 11 }}", { maxLength: 10 }).details.limit).toBe('maxLength');
    expect(templateError("{{ 'x' * 6 }}{{ 'y' * 6 }}", { maxOutput: 10 }).details.limit).toBe('maxOutput');
  });

  it('prints a namespace that contains itself as Python does, and refuses to serialize it', () => {
    const source = '{% set ns = namespace() %}{% set ns.a = ns %}';
    expect(render(`${source}{{ ns }}`)).toBe("<Namespace {'a': <Namespace {...}>}>");
    const error = templateError(`${source}{{ ns.a|tojson }}`);
    expect(error.details.kind).toBe('TypeError');
    expect(render('{% set ns = namespace(l=[]) %}{% set ns.l = ns.l + [ns] %}{{ [ns.l, ns.l] }}')).toBe(
      "[[<Namespace {'l': [...]}>], [<Namespace {'l': [...]}>]]",
    );
  });

  it('says where a template does not compile', () => {
    const compileError = (source: string) => {
      try {
        new ChatTemplate(source);
      } catch (error) {
        if (StrataError.isInstance(error, 'TEMPLATE_ERROR')) return error;
        throw error;
      }
      throw new Error('expected a syntax error');
    };
    const error = compileError('{% for m in messages %}\n  {{ m.role }}\n  {{ m.content + }}\n{% endfor %}');
    expect(error.message).toContain('at line 3, column 3: {{ m.content + }}');
    expect(error.details).toMatchObject({ kind: 'TemplateSyntaxError', where: 'line 3, column 3: {{ m.content + }}' });
    expect(compileError('{% if x %}{% for m in y %}{% endif %}').message).toContain('check that every block is closed');
  });

  it('turns a parser crash on absurd nesting into TEMPLATE_ERROR', () => {
    const source = `{{ ${'('.repeat(100_000)}1${')'.repeat(100_000)} }}`;
    let error: unknown;
    try {
      new ChatTemplate(source);
    } catch (caught) {
      error = caught;
    }
    expect(StrataError.isInstance(error, 'TEMPLATE_ERROR')).toBe(true);
  });
});
