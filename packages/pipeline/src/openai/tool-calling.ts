import { StrataError } from '@strata/core';
import {
  type AssistantDelta,
  createToolCallStreamParser,
  grammarForToolChoice,
  type OutputConstraint,
  type ParsedAssistantMessage,
  parseToolCalls,
  type ToolCallFormat,
  type ToolChoice,
  type ToolDefinition,
  toolCallFormatOf,
} from '@strata/structured';
import type { PipelineTokenizer } from '../text/tokenizer.js';

/** How a chat request with `tools` runs: the model's tool-call format, and the grammar that forces a call. */
export interface ToolCalling {
  /** The format the model's chat template writes calls in. */
  readonly format: ToolCallFormat;
  /** `auto`, `required` or a named function (`none` never gets here). */
  readonly toolChoice: ToolChoice;
  /** For `required` and a named function: the grammar over that format's calls. */
  readonly constraint?: OutputConstraint;
}

type Body = Record<string, unknown>;

function invalid(param: string, message: string): StrataError {
  return new StrataError('INVALID_ARGUMENT', message, { details: { param } });
}

/** Checks `tools` (OpenAI's function definitions); undefined when absent or empty. */
export function checkTools(value: unknown): ToolDefinition[] | undefined {
  if (value === undefined || value === null) return undefined;
  if (!Array.isArray(value))
    throw invalid('tools', "'tools' must be an array of {type: 'function', function} objects.");
  return value.map((tool: unknown, index) => {
    const { type, function: definition } = (tool ?? {}) as Body;
    const name = (definition as Body | undefined)?.name;
    if (type !== 'function' || typeof definition !== 'object' || typeof name !== 'string' || name.length === 0) {
      throw invalid(`tools[${index}]`, `'tools[${index}]' must be {type: 'function', function: {name, parameters}}.`);
    }
    return tool as ToolDefinition;
  });
}

/** Checks `tool_choice`: `none`, `auto`, `required` or `{type: 'function', function: {name}}` naming a given tool. */
export function checkToolChoice(value: unknown, tools: readonly ToolDefinition[] | undefined): ToolChoice {
  if (value === undefined || value === null) return tools === undefined ? 'none' : 'auto';
  if (value === 'none' || value === 'auto' || value === 'required') {
    if (value !== 'none' && tools === undefined) throw invalid('tool_choice', `'tool_choice' ${value} needs 'tools'.`);
    return value;
  }
  const name = ((value as Body).function as Body | undefined)?.name;
  if ((value as Body).type === 'function' && typeof name === 'string') {
    if (!tools?.some((tool) => tool.function.name === name)) {
      throw invalid('tool_choice', `'tool_choice' names ${JSON.stringify(name)}, which is not among 'tools'.`);
    }
    return { type: 'function', function: { name } };
  }
  throw invalid(
    'tool_choice',
    "'tool_choice' must be 'none', 'auto', 'required' or {type: 'function', function: {name}}.",
  );
}

/**
 * The tool calling of a request, from the chat template's source: its format, and for `required` or a named function the
 * grammar that makes the model call. A template without a known format can still be sent tools (`auto`: nothing is
 * parsed); forcing a call on it is `INVALID_ARGUMENT`.
 */
export function toolCallingOf(
  templateSource: string | undefined,
  tools: readonly ToolDefinition[],
  toolChoice: ToolChoice,
): ToolCalling | undefined {
  if (toolChoice === 'none') return undefined;
  const format = templateSource === undefined ? undefined : toolCallFormatOf(templateSource);
  if (format === undefined) {
    if (toolChoice === 'auto') return undefined;
    throw invalid(
      'tool_choice',
      "This model's chat template writes tool calls in no format strata knows, so a call cannot be required.",
    );
  }
  const constraint = toolChoice === 'auto' ? undefined : grammarForToolChoice(format, tools, toolChoice);
  return { format, toolChoice, ...(constraint === undefined ? {} : { constraint }) };
}

/** The assistant message of a finished choice: its tokens decoded with special tokens kept, then parsed. */
export function parseChoice(
  tokenizer: PipelineTokenizer,
  tokens: readonly number[],
  calling: ToolCalling,
): ParsedAssistantMessage {
  const text = tokenizer.decode(tokens, { skipSpecial: false });
  return parseToolCalls(stripEndOfGeneration(tokenizer, text, tokens), {
    format: calling.format,
    toolChoice: calling.toolChoice,
  });
}

/** The end-of-generation token a choice stopped on is not part of its message. */
function stripEndOfGeneration(tokenizer: PipelineTokenizer, text: string, tokens: readonly number[]): string {
  const last = tokens[tokens.length - 1];
  if (last === undefined || !new Set(tokenizer.endOfGenerationIds).has(last)) return text;
  const stop = tokenizer.decode([last], { skipSpecial: false });
  return text.endsWith(stop) ? text.slice(0, text.length - stop.length) : text;
}

/** A streaming parse of one choice: token ids in (special tokens kept), OpenAI-shaped deltas out. */
export interface ChoiceToolStream {
  /** The deltas completed by the next token. */
  push(token: number): AssistantDelta[];
  /** The last deltas and the whole message. */
  finish(): { readonly deltas: AssistantDelta[]; readonly message: ParsedAssistantMessage };
}

/** Starts the streaming parse of one choice. */
export function createChoiceToolStream(tokenizer: PipelineTokenizer, calling: ToolCalling): ChoiceToolStream {
  const decoder = tokenizer.createStreamDecoder({ skipSpecial: false });
  const parser = createToolCallStreamParser({ format: calling.format, toolChoice: calling.toolChoice });
  const stops = new Set(tokenizer.endOfGenerationIds);
  return {
    push: (token) => (stops.has(token) ? [] : parser.push(decoder.push(token))),
    finish: () => {
      const rest = decoder.flush();
      const deltas = rest.length > 0 ? parser.push(rest) : [];
      const finished = parser.finish();
      return { deltas: [...deltas, ...finished.deltas], message: finished.message };
    },
  };
}
