import { StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { ChatTemplate } from './chat-template.js';

/**
 * jinja2's documented behaviour beyond the fixtures, as Hugging Face runs it (ImmutableSandboxedEnvironment, default
 * `Undefined`, auto-escaping off). Expected values come from jinja2's and MarkupSafe's documented semantics, not from
 * this engine: `Undefined` prints as nothing, iterates as empty, has length 0, is equal only to Undefined, and raises
 * `UndefinedError` on attribute and item access, calls, arithmetic, comparisons and `int()`/`float()`; attribute
 * access on a defined value that lacks it gives Undefined; `Markup` is not escaped twice and escapes what `+`, `%` and
 * its `.replace()` bring in, while `~` and filters give plain text when auto-escaping is off.
 */
const render = (source: string) => new ChatTemplate(source).render({ messages: [{ role: 'user', content: 'hi' }] });

function kindOf(source: string): string {
  try {
    render(source);
  } catch (error) {
    if (StrataError.isInstance(error, 'TEMPLATE_ERROR')) return String(error.details.kind);
    throw error;
  }
  throw new Error(`expected ${source} to fail`);
}

describe('jinja2 Undefined versus none', () => {
  it.each([
    ['{{ x }}|', '|'],
    ['{% for a in x %}A{% else %}E{% endfor %}', 'E'],
    ['{{ x is defined }}{{ none is defined }}{{ x is none }}', 'FalseTrueFalse'],
    ["{{ x|default('d') }}{{ none|default('d') }}{{ none|default('d', true) }}", 'dNoned'],
    ['{{ x|length }}|{{ x|upper }}|{{ x|trim }}|{{ x|string }}|{{ x|safe }}|{{ x|e }}', '0|||||'],
    ['{{ x == none }}{{ x == y }}{{ x in [1] }}{{ 1 in x }}{{ not x }}', 'FalseTrueFalseFalseTrue'],
    [
      '{{ x is string }}{{ x is iterable }}{{ x is mapping }}{{ x is sequence }}{{ x is callable }}',
      'FalseTrueFalseTrueTrue',
    ],
    ["{{ x|list }}{{ x|join(',') }}|{{ x|first }}|{{ x|last }}|{{ x|min }}|{{ x|max }}", '[]||||'],
    [
      "{{ x|sum }}|{{ x|sort }}|{{ x|items|list }}|{{ x|selectattr('a')|list }}|{{ x|map('upper')|list }}",
      '0|[]|[]|[]|[]',
    ],
    ['{{ x|batch(2)|list }}|{{ x|wordcount }}|{{ x|center(4) }}|{{ x ~ 1 }}|{{ x if x else 1 }}', '[]|0|    |1|1'],
    [
      '{{ none.attr }}|{{ none["x"] }}|{{ {}.x }}|{{ [1].x }}|{{ "abc".x }}|{{ "abc"[10] }}|{{ messages[9] }}|',
      '|||||||',
    ],
    ['{% for m in messages %}{{ loop.nextitem is defined }}{% endfor %}', 'False'],
    ['{{ [3, 1, 2]|min }}{{ [3, 1, 2]|max }}{{ []|min }}|', '13|'],
  ])('%s renders %j', (source, expected) => {
    expect(render(source)).toBe(expected);
  });

  it.each([
    ['{{ x.y }}', 'UndefinedError'],
    ['{{ x["y"] }}', 'UndefinedError'],
    ['{{ x() }}', 'UndefinedError'],
    ['{{ x + 1 }}', 'UndefinedError'],
    ['{{ -x }}', 'UndefinedError'],
    ['{{ x < 1 }}', 'UndefinedError'],
    ['{{ x|int }}', 'UndefinedError'],
    ['{{ x|float }}', 'UndefinedError'],
    ['{{ x|dictsort }}', 'UndefinedError'],
    ["{{ x|attr('y') }}", 'UndefinedError'],
    ['{{ none.attr.b }}', 'UndefinedError'],
    ['{{ messages[9].role }}', 'UndefinedError'],
    ['{{ messages.nope() }}', 'UndefinedError'],
    ["{{ 'a'.nope() }}", 'UndefinedError'],
    ['{{ x|abs }}', 'TypeError'],
    ['{{ x|round }}', 'TypeError'],
    ['{{ x|tojson }}', 'TypeError'],
    ["{{ {'a': x}|tojson }}", 'TypeError'],
    ['{% set ns = namespace() %}{{ ns|tojson }}', 'TypeError'],
    ["{{ 'a'() }}", 'TypeError'],
    ['{% for x in none %}{% endfor %}', 'TypeError'],
    ['{% for x in 5 %}{% endfor %}', 'TypeError'],
    ['{% for a, b in [1] %}{% endfor %}', 'TypeError'],
    ['{{ none|length }}', 'TypeError'],
  ])('%s raises %s as jinja2 does', (source, kind) => {
    expect(kindOf(source)).toBe(kind);
  });

  it('names the missing attribute as jinja2 does', () => {
    expect(() => render('{{ messages[0].nope.deeper }}')).toThrow("'dict object' has no attribute 'nope'");
    expect(() => render('{{ messages.nope() }}')).toThrow("'list object' has no attribute 'nope'");
  });
});

describe('escape, Markup and auto-escaping off', () => {
  it.each([
    ["{{ '<a>'|e }}{{ '<a>'|escape }}{{ '<a>'|forceescape }}", '&lt;a&gt;&lt;a&gt;&lt;a&gt;'],
    [`{{ '"'|e }}{{ "'"|e }}{{ '&'|e }}{{ none|e }}{{ 1|e }}`, '&#34;&#39;&amp;None1'],
    ["{{ '<a>'|e|e }}", '&lt;a&gt;'],
    ["{{ '<a>'|safe }}{{ '<a>'|safe|e }}", '<a><a>'],
    ["{{ ('<a>'|e) + '<b>' }}", '&lt;a&gt;&lt;b&gt;'],
    ["{{ '<b>' + ('<a>'|e) }}", '&lt;b&gt;&lt;a&gt;'],
    ["{{ ('<a>'|safe) + '<b>' }}", '<a>&lt;b&gt;'],
    ["{{ ('<%s>'|e) % '<b>' }}", '&lt;&lt;b&gt;&gt;'],
    ["{{ ('<a>'|e).replace('a', '<x>') }}", '&lt;&lt;x&gt;&gt;'],
    ["{{ ('<a>'|e) ~ '<b>' }}", '&lt;a&gt;<b>'],
    ["{{ ('&'|e)|replace('&', 'and') }}", 'andamp;'],
    ["{{ ['<a>'|e, '<b>']|join(',') }}", '&lt;a&gt;,<b>'],
    ["{{ (('<a>'|e) ~ '<b>') + '<c>' }}", '&lt;a&gt;<b><c>'],
    ["{{ ('<a>'|e)|length }}", '9'],
  ])('%s renders %j', (source, expected) => {
    expect(render(source)).toBe(expected);
  });
});
