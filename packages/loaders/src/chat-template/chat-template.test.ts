import { StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { ChatTemplate } from './chat-template.js';
import { resolveChatTemplate } from './resolve-chat-template.js';
import { strftime } from './strftime.js';

const NOW = new Date(2026, 10, 22, 12, 0, 0);
const render = (source: string, variables: Record<string, unknown> = {}) =>
  new ChatTemplate(source).render({ messages: [], now: NOW, ...variables });

function templateError(action: () => unknown): StrataError {
  try {
    action();
  } catch (error) {
    if (StrataError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected a StrataError');
}

describe('ChatTemplate rendering rules (jinja2 as transformers configures it)', () => {
  it('passes messages, add_generation_prompt, bos/eos and extra variables', () => {
    const template = new ChatTemplate(
      '{{ bos_token }}{% for m in messages %}[{{ m.role }}:{{ m.content }}]{% endfor %}' +
        '{% if add_generation_prompt %}>{% endif %}{{ eos_token }}{{ enable_thinking }}',
      { bosToken: '<s>', eosToken: '</s>' },
    );
    const messages = [{ role: 'user', content: 'hi' }];
    expect(template.render({ messages, addGenerationPrompt: true, enable_thinking: false })).toBe(
      '<s>[user:hi]></s>False',
    );
    expect(template.render({ messages, bosToken: 'B', eosToken: 'E' })).toBe('B[user:hi]E');
  });

  it('trims blocks and strips their leading whitespace', () => {
    expect(render('a\n  {% if true %}\nb\n  {% endif %}\nc')).toBe('a\nb\nc');
  });

  it('prints values as Python str() does', () => {
    expect(render('{{ none }} {{ true }} {{ 1.0 }} {{ [1, "a"] }} {{ {"k": "v\'"} }} {{ undefined_name }}|')).toBe(
      `None True 1.0 [1, 'a'] {'k': "v'"} |`,
    );
    expect(render('{{ tools[0] | string }}', { tools: [{ type: 'function', x: [true, null] }] })).toBe(
      "{'type': 'function', 'x': [True, None]}",
    );
  });

  it('tojson is json.dumps without ASCII escaping, with indent, separators and sort_keys', () => {
    const data = { b: 'ünï ✓', a: [1, 2.5, null, true], e: {} };
    expect(render('{{ data | tojson }}', { data })).toBe('{"b": "ünï ✓", "a": [1, 2.5, null, true], "e": {}}');
    expect(render('{{ data | tojson(indent=2) }}', { data: { a: [1], b: 'x' } })).toBe(
      '{\n  "a": [\n    1\n  ],\n  "b": "x"\n}',
    );
    expect(render("{{ data | tojson(separators=(',', ':'), sort_keys=true) }}", { data })).toBe(
      '{"a":[1,2.5,null,true],"b":"ünï ✓","e":{}}',
    );
    expect(render('{{ data | tojson(ensure_ascii=true) }}', { data: 'é' })).toBe('"\\u00e9"');
  });

  it('has Python methods on strings, dicts and lists', () => {
    expect(render("{{ '  a b  '.strip() }}|{{ 'xxaxx'.strip('x') }}|{{ 'a,b,,c'.split(',') }}")).toBe(
      "a b|a|['a', 'b', '', 'c']",
    );
    expect(render("{{ 'a b  c'.split() }}|{{ 'a-b-c'.split('-', 1) }}|{{ 'abc'.startswith(('x', 'a')) }}")).toBe(
      "['a', 'b', 'c']|['a', 'b-c']|True",
    );
    expect(
      render("{% for k, v in d.items() %}{{ k }}={{ v }};{% endfor %}{{ d.get('z', 'none') }}", { d: { a: 1 } }),
    ).toBe('a=1;none');
    expect(render("{{ 'b' in 'abc' }}{{ 'x' in {'x': 1} }}{{ [1, 2] == [1, 2] }}{{ 'ab'.upper() }}")).toBe(
      'TrueTrueTrueAB',
    );
  });

  it('has namespace(), loop controls, map, selectattr and nested is defined', () => {
    const source =
      '{% set ns = namespace(n=0) %}{% for x in xs %}{% if x.skip %}{% continue %}{% endif %}' +
      '{% if loop.index > 3 %}{% break %}{% endif %}{% set ns.n = ns.n + x.v %}{% endfor %}{{ ns.n }}|' +
      "{{ xs | map(attribute='v') | join(',') }}|{{ xs | selectattr('skip') | list | length }}|" +
      "{{ xs | map('string') | first }}|{{ xs[0].v is defined }}{{ xs[0].w is defined }}";
    const xs = [{ v: 1 }, { v: 2, skip: true }, { v: 3 }, { v: 4 }];
    expect(render(source, { xs })).toBe("4|1,2,3,4|1|{'v': 1}|TrueFalse");
  });

  it('accepts tests with arguments, with or without parentheses', () => {
    expect(
      render("{{ 4 is divisibleby(2) }}{{ 5 is divisibleby 2 }}{{ x is not sameas false }}{{ 'b' is in ['a', 'b'] }}", {
        x: false,
      }),
    ).toBe('TrueFalseFalseTrue');
    expect(
      render('{{ xs | length is divisibleby(2) and xs is defined }}{{ xs | select("gt", 1) | list }}', { xs: [1, 2] }),
    ).toBe('True[2]');
  });

  it('reads Python syntax the parser lacks: number dict keys, string escapes, exponent literals', () => {
    expect(
      render(
        '{% set d = {0: 0, 512: 128} %}{% for k, v in d | dictsort %}{{ k + 1 }}={{ v }};{% endfor %}{{ d[512] }}',
      ),
    ).toBe('1=0;513=128;128');
    expect(render('{{ {1: none, none: 2} }}|{{ {1: 2} | tojson }}')).toBe('{1: None, None: 2}|{"1": 2}');
    expect(render('{{ "a\\\nb" }}|{{ "\\d\\a" | length }}|{{ "\\U0001F600" }}')).toBe('ab|3|😀');
    expect(render('{{ 1e-5 }} {{ 2.5E3 }} {{ 1e20 * 10 }}')).toBe('1e-05 2500.0 1e+21');
  });

  it('rounds and formats as Python does', () => {
    expect(render("{{ 2.5 | round }} {{ 3.5 | round }} {{ 2.675 | round(2) }} {{ 2.7 | round(0, 'floor') }}")).toBe(
      '2.0 4.0 2.67 2.0',
    );
    expect(render("{{ '%s-%d' | format('a', 3) }} {{ '%s!' % 'hi' }} {{ '{} and {x}'.format(1, x='y') }}")).toBe(
      'a-3 hi! 1 and y',
    );
  });

  it('scopes loops as jinja2: a fresh scope per iteration, output kept before break, loop.cycle', () => {
    expect(
      render('{% for i in [1, 2, 3] %}{% if loop.first %}{% set x = 5 %}{% endif %}[{{ x }}]{% endfor %}[{{ x }}]'),
    ).toBe('[5][][][]');
    expect(render('{% set x = 0 %}{% for i in [1, 2, 3] %}{% set x = x + i %}{{ x }}{% endfor %}{{ x }}')).toBe('1230');
    expect(render('{% for i in range(5) %}{{ i }}{% if i >= 1 %}{% break %}{% endif %}{% endfor %}')).toBe('01');
    expect(
      render("{% for i in range(3) %}{{ loop.cycle('a', 'b') }}{% if i == 1 %}{% continue %}{% endif %}.{% endfor %}"),
    ).toBe('a.ba.');
    expect(
      render('{% for x in xs if x > 1 %}{{ loop.index }}{{ x }}{% else %}none{% endfor %}', { xs: [1, 2, 3] }),
    ).toBe('1223');
    expect(render('{% for x in [] %}x{% else %}none{% endfor %}')).toBe('none');
  });

  it('treats undefined as jinja2 does: empty iterable, length 0, error on attribute access', () => {
    expect(render('{% for t in tools %}x{% endfor %}{{ tools | length }}{{ tools is iterable }}')).toBe('0True');
    expect(templateError(() => render('{{ missing.attr }}')).message).toBe("'missing' is undefined");
  });

  it('strftime_now uses the injected clock', () => {
    expect(render("{{ strftime_now('%d %b %Y') }} {{ strftime_now('%B %d, %Y %H:%M') }}")).toBe(
      '22 Nov 2026 November 22, 2026 12:00',
    );
    expect(strftime(NOW, '%A %a %j %I%p %-d %y %%')).toBe('Sunday Sun 326 12PM 22 26 %');
  });

  it('raise_exception raises TEMPLATE_ERROR with the template message', () => {
    const error = templateError(() => render("{{ raise_exception('Only user and assistant roles!') }}"));
    expect(error.code).toBe('TEMPLATE_ERROR');
    expect(error.message).toBe('Only user and assistant roles!');
    expect(error.details.kind).toBe('TemplateError');
  });

  it('refuses what the immutable sandbox refuses, and Python type errors', () => {
    const append = templateError(() => render('{% set xs = [] %}{% set _ = xs.append(1) %}'));
    expect(`${String(append.details.kind)}: ${append.message}`).toBe(
      "SecurityError: access to attribute 'append' of 'list' object is unsafe.",
    );
    const concat = templateError(() => render("{{ 'a' + {} }}"));
    expect(concat.message).toBe('can only concatenate str (not "dict") to str');
  });

  it('a syntax error is a TEMPLATE_ERROR at compile time', () => {
    expect(templateError(() => new ChatTemplate('{% if %}')).code).toBe('TEMPLATE_ERROR');
  });
});

describe('resolveChatTemplate', () => {
  const named = {
    chat_template: [
      { name: 'default', template: 'D' },
      { name: 'tool_use', template: 'T' },
    ],
  };

  it('takes explicit, then chat_template.jinja, then tokenizer_config.json, then GGUF', () => {
    const all = { explicit: 'E', chatTemplateJinja: 'J', tokenizerConfig: { chat_template: 'C' }, ggufTemplate: 'G' };
    expect(resolveChatTemplate(all)).toEqual({ source: 'E', origin: 'explicit' });
    expect(resolveChatTemplate({ ...all, explicit: undefined }).origin).toBe('chat_template.jinja');
    expect(resolveChatTemplate({ ...all, explicit: undefined, chatTemplateJinja: undefined }).source).toBe('C');
    expect(resolveChatTemplate({ tokenizerConfig: {}, ggufTemplate: 'G' })).toEqual({ source: 'G', origin: 'gguf' });
  });

  it('picks default from named templates unless a name (or tools with a tool_use template) says otherwise', () => {
    expect(resolveChatTemplate({ tokenizerConfig: named })).toMatchObject({ source: 'D', name: 'default' });
    expect(resolveChatTemplate({ tokenizerConfig: named, name: 'tool_use' }).source).toBe('T');
    expect(resolveChatTemplate({ tokenizerConfig: named, hasTools: true }).source).toBe('T');
    expect(
      resolveChatTemplate({ tokenizerConfig: { chat_template: { default: 'D2', rag: 'R' } }, name: 'rag' }).source,
    ).toBe('R');
    expect(templateError(() => resolveChatTemplate({ tokenizerConfig: named, name: 'rag' })).code).toBe(
      'TEMPLATE_NOT_FOUND',
    );
  });

  it('says what to pass when there is no template', () => {
    const error = templateError(() => resolveChatTemplate({ tokenizerConfig: { bos_token: '<s>' } }));
    expect(error.code).toBe('TEMPLATE_NOT_FOUND');
    expect(error.message).toMatch(/Pass one explicitly/);
  });
});
