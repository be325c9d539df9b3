import { StrataError } from '@strata/core';
import type { OutputConstraint } from '../matcher/constraint.js';
import { checkJsonSchema } from '../schema/check-json-schema.js';
import { tightenJsonSchema } from '../schema/tighten-json-schema.js';
import type { ToolCallFormat, ToolChoice, ToolDefinition } from './tool-call-types.js';

/**
 * How calls are written in a format: `prefix`, then each call as `begin(name)` + arguments + `end` joined by
 * `separator`, then `suffix`; `trigger` starts a call in free text.
 */
interface CallTemplate {
  readonly prefix?: string;
  readonly begin: (name: string) => string;
  readonly end: string;
  readonly separator: string;
  readonly suffix?: string;
  readonly trigger: string;
  /** XGrammar's content format for the arguments (JSON by default; Qwen3-Coder writes XML parameters). */
  readonly content?: 'qwen_xml_parameter';
}

const json = (name: string) => JSON.stringify(name);

/** A JSON list of `{"name": …, "arguments": …}` objects after `prefix`. */
const jsonList = (prefix: string, suffix: string, nameKey = 'name', argumentsKey = 'arguments'): CallTemplate => ({
  prefix,
  begin: (name) => `{"${nameKey}": ${json(name)}, "${argumentsKey}": `,
  end: '}',
  separator: ', ',
  suffix,
  trigger: prefix,
});

/** Call templates per format (GLM's key/value XML has no arguments grammar, so it has none). */
const TEMPLATES: Readonly<Partial<Record<ToolCallFormat, CallTemplate>>> = {
  hermes: {
    begin: (name) => `<tool_call>\n{"name": ${json(name)}, "arguments": `,
    end: '}\n</tool_call>',
    separator: '\n',
    trigger: '<tool_call>',
  },
  'qwen3-coder': {
    begin: (name) => `<tool_call>\n<function=${name}>\n`,
    end: '</function>\n</tool_call>',
    separator: '\n',
    trigger: '<tool_call>',
    content: 'qwen_xml_parameter',
  },
  llama3: {
    begin: (name) => `{"name": ${json(name)}, "parameters": `,
    end: '}',
    separator: '; ',
    trigger: '{"name": ',
  },
  mistral: jsonList('[TOOL_CALLS][', ']'),
  functionary: { begin: (name) => `${name}\n`, end: '', separator: '>>>', trigger: '>>>' },
  'command-r': jsonList('Action:\n```json\n[', ']\n```', 'tool_name', 'parameters'),
  deepseek: {
    prefix: '<｜tool▁calls▁begin｜>',
    begin: (name) => `<｜tool▁call▁begin｜>${name}<｜tool▁sep｜>`,
    end: '<｜tool▁call▁end｜>',
    separator: '\n',
    suffix: '<｜tool▁calls▁end｜>',
    trigger: '<｜tool▁calls▁begin｜>',
  },
  'gpt-oss': {
    begin: (name) => `<|channel|>commentary to=functions.${name} <|constrain|>json<|message|>`,
    end: '<|call|>',
    separator: '<|start|>assistant',
    trigger: '<|channel|>commentary to=',
  },
  granite: jsonList('<|tool_call|>[', ']'),
  nemotron: jsonList('<TOOLCALL>[', ']</TOOLCALL>'),
  apriel: jsonList('<tool_calls>[', ']</tool_calls>'),
};

function tagOf(template: CallTemplate, tool: ToolDefinition, wrapped: boolean): Record<string, unknown> {
  const parameters = tool.function.parameters ?? { type: 'object' };
  checkJsonSchema(parameters);
  const schema = tightenJsonSchema(parameters) as Record<string, unknown>;
  return {
    type: 'tag',
    begin: (wrapped ? (template.prefix ?? '') : '') + template.begin(tool.function.name),
    content: { type: template.content ?? 'json_schema', json_schema: schema },
    end: template.end + (wrapped ? (template.suffix ?? '') : ''),
  };
}

/**
 * The output constraint that enforces OpenAI's `tool_choice` in a model's tool-call format (an XGrammar structural
 * tag, for `GenerateOptions.constraint` / `createGrammarMatcher`):
 * - `'required'`: one or more calls of the given tools and nothing else;
 * - `{type: 'function', function: {name}}`: exactly one call of that tool;
 * - `'auto'`: free text, but once the model starts a call (its format's trigger) the call must match a tool's schema;
 * - `'none'`: undefined (no constraint; parse with `toolChoice: 'none'`).
 * Arguments follow each tool's `parameters` schema (checked like any schema: `UNSUPPORTED_SCHEMA` names a keyword
 * outside the subset). Throws `INVALID_ARGUMENT` for a named function that is not among the tools, an empty tool list,
 * or a format without an arguments grammar (GLM).
 */
export function grammarForToolChoice(
  format: ToolCallFormat,
  tools: readonly ToolDefinition[],
  toolChoice: ToolChoice,
): OutputConstraint | undefined {
  if (toolChoice === 'none') return undefined;
  const template = TEMPLATES[format];
  if (template === undefined) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `tool_choice cannot be enforced for the ${format} format; use 'auto' or 'none'.`,
    );
  }
  let chosen = tools;
  if (typeof toolChoice === 'object') {
    chosen = tools.filter((tool) => tool.function.name === toolChoice.function.name);
    if (chosen.length === 0) {
      throw new StrataError(
        'INVALID_ARGUMENT',
        `tool_choice names '${toolChoice.function.name}', which is not among the tools.`,
        {
          details: { name: toolChoice.function.name },
        },
      );
    }
  }
  if (chosen.length === 0)
    throw new StrataError('INVALID_ARGUMENT', `tool_choice '${String(toolChoice)}' needs at least one tool.`);
  let formatObject: Record<string, unknown>;
  if (toolChoice === 'auto') {
    // Free text; a call (wrapped alone in the format's prefix and suffix) must match a tool once triggered.
    const tags = chosen.map((tool) => tagOf(template, tool, true));
    formatObject = {
      type: 'triggered_tags',
      triggers: [template.trigger],
      tags,
      at_least_one: false,
      stop_after_first: false,
    };
  } else {
    const calls = {
      type: 'tags_with_separator',
      tags: chosen.map((tool) => tagOf(template, tool, false)),
      separator: template.separator,
      at_least_one: true,
      stop_after_first: typeof toolChoice === 'object',
    };
    formatObject =
      template.prefix === undefined && template.suffix === undefined
        ? calls
        : { type: 'tag', begin: template.prefix ?? '', content: calls, end: template.suffix ?? '' };
  }
  return { kind: 'structural-tag', structuralTag: { type: 'structural_tag', format: formatObject } };
}
