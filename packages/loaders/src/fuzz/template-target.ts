import { ChatTemplate, type ChatMessage } from '../chat-template/chat-template.js';
import type { ChatTemplateLimits } from '../chat-template/render-budget.js';
import type { FuzzTarget } from './fuzz-target.js';
import type { Random } from './mutate.js';

/** Pieces of template text that reach the engine's corners: limits, recursion, odd syntax, every filter family. */
const SNIPPETS = [
  '{{ ',
  ' }}',
  '{% ',
  ' %}',
  '{%- ',
  ' -%}',
  '{# ',
  ' #}',
  '{% for x in range(9) %}',
  '{% for m in messages %}',
  '{% endfor %}',
  '{% if x %}',
  '{% else %}',
  '{% endif %}',
  '{% set ns = namespace(a=1) %}',
  '{% set ns.a = ns %}',
  '{{ ns }}',
  '{% macro m(x) %}{{ m(x) }}{% endmacro %}{{ m(1) }}',
  '{% break %}',
  '{% continue %}',
  '{% filter upper %}x{% endfilter %}',
  '{% generation %}',
  '{{ range(100000000)|list }}',
  '{{ ([1] * 100000000)|length }}',
  "{{ 'ab' * 99999999 }}",
  '|tojson',
  '|tojson(indent=2)',
  '|length',
  '|list',
  '|string',
  '|join(", ")',
  "|replace('a', 'bbbb')",
  '|center(100000000)',
  "|map(attribute='content')",
  "|selectattr('role', 'equalto', 'user')",
  '|items',
  '|dictsort',
  '|sort',
  '|unique',
  '|first',
  '|last',
  '|trim',
  '|indent(4)',
  '|e',
  '|safe',
  '|int',
  '|float',
  '|abs',
  '|round',
  '|batch(2)',
  "|default('d')",
  ' * 100000',
  ' ~ ',
  ' + ',
  ' // 0',
  ' % 0',
  ' ** 99999',
  ' is defined',
  ' is none',
  ' is string',
  ' is mapping',
  ' if x else y',
  ' not ',
  ' and ',
  ' or ',
  ' in ',
  'messages[0]',
  'messages[-1]',
  'messages[::-1]',
  '.content',
  '.role',
  '.split(",")',
  '.strip()',
  '.startswith("a")',
  '.items()',
  '.get("x")',
  'tools',
  'undefined_name',
  'undefined_name.attribute',
  'undefined_name()',
  'none',
  'raise_exception("x")',
  'strftime_now("%Y")',
  "'x'",
  '"y"',
  '[1, 2]',
  "{'a': 1}",
  '(1,)',
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ',',
  '=',
  '|',
  '-1',
  '1e308',
  '99999999999999999999',
];

const MESSAGES: readonly ChatMessage[] = [
  { role: 'system', content: 'You are terse.' },
  { role: 'user', content: 'Hi <b>&amp;</b> ünïcödé' },
  {
    role: 'assistant',
    content: null,
    tool_calls: [{ type: 'function', function: { name: 'f', arguments: { a: 1 } } }],
  },
  { role: 'tool', content: '{"ok": true}', tool_call_id: 'c1' },
  { role: 'user', content: [{ type: 'text', text: 'parts' }] },
];

const TOOLS = [{ type: 'function', function: { name: 'f', description: 'd', parameters: { type: 'object' } } }];

/** Built-in seeds for runs without the fixtures: a ChatML template and a few of jinja2's corners. */
export function builtInTemplateSeeds(): string[] {
  return [
    "{% for message in messages %}{{ '<|im_start|>' + message.role + '\\n' + (message.content if message.content is string else message.content|tojson) + '<|im_end|>\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}",
    "{% set ns = namespace(found=false) %}{% for m in messages|reverse %}{% if m.role == 'user' and not ns.found %}{% set ns.found = true %}{{ m.content|string|trim }}{% endif %}{% endfor %}{{ tools|tojson(indent=2) if tools }}",
    '{%- macro render(x, depth) -%}{%- if x is mapping -%}{% for k, v in x|dictsort %}{{ k }}={{ render(v, depth + 1) }};{% endfor %}{%- else -%}{{ x }}{%- endif -%}{%- endmacro -%}{{ render(messages[2], 0) }}',
  ];
}

/** Limits for fuzzing: the defaults, with a smaller step budget so that one input stays well under a second. */
export const FUZZ_TEMPLATE_LIMITS: ChatTemplateLimits = {
  maxSteps: 100_000,
  maxOutput: 1_000_000,
  maxMilliseconds: 1000,
};

function mutateTemplate(source: string, random: Random, donors: readonly string[]): string {
  let text = source;
  const rounds = 1 + random.below(4);
  for (let round = 0; round < rounds; round++) {
    const position = random.below(text.length + 1);
    const end = Math.min(text.length, position + 1 + random.below(40));
    switch (random.below(6)) {
      case 0:
      case 1:
        text = text.slice(0, position) + random.pick(SNIPPETS) + text.slice(position);
        break;
      case 2:
        text = text.slice(0, position) + text.slice(end);
        break;
      case 3:
        text = text.slice(0, end) + text.slice(position, end) + text.slice(end);
        break;
      case 4: {
        const donor = random.pick(donors);
        const start = random.below(donor.length + 1);
        text = text.slice(0, position) + donor.slice(start, start + 1 + random.below(80)) + text.slice(position);
        break;
      }
      default:
        text = text.slice(0, position) + String.fromCharCode(32 + random.below(95)) + text.slice(position + 1);
    }
  }
  return text;
}

/**
 * The chat-template engine: templates mutated by snippets, cuts, repeats and splices between templates, compiled and
 * rendered over a conversation with tool calls, content parts and tools, under {@link FUZZ_TEMPLATE_LIMITS}.
 */
export function templateTarget(seeds: readonly string[]): FuzzTarget<string> {
  return {
    name: 'template',
    mutate: (random) => mutateTemplate(random.pick(seeds), random, seeds),
    exercise: (source) => {
      new ChatTemplate(source, { bosToken: '<s>', eosToken: '</s>', limits: FUZZ_TEMPLATE_LIMITS }).render({
        messages: MESSAGES,
        tools: TOOLS,
        addGenerationPrompt: true,
        now: new Date(2026, 0, 1),
      });
      return [];
    },
    serialize: (source) => new TextEncoder().encode(source),
  };
}
