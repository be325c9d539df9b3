import type { CallSyntax, PartialCall } from './call-syntax.js';
import { normalizeArguments } from './json-scan.js';
import { splitReasoning } from './reasoning.js';
import { SYNTAXES } from './syntaxes.js';
import type { ParsedAssistantMessage, ToolCall, ToolCallFormat, ToolChoice } from './tool-call-types.js';

/** Options of {@link parseToolCalls} and `createToolCallStreamParser`. */
export interface ParseToolCallsOptions {
  /** The model's format (`toolCallFormatOf(template source)` finds it). */
  readonly format: ToolCallFormat;
  /** The generation prompt already opened the reasoning (it ends with `<think>`). */
  readonly startsInReasoning?: boolean;
  /** `none`: calls are not parsed (all text is content). Default `auto`. */
  readonly toolChoice?: ToolChoice;
  /** Makes the id of a call whose format carries none (default `call_` and 24 random letters and digits). */
  readonly generateId?: () => string;
}

/** A random OpenAI-style call id. */
export function randomCallId(): string {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  let id = 'call_';
  for (let index = 0; index < 24; index++) id += alphabet[Math.floor(Math.random() * alphabet.length)];
  return id;
}

/** Where the tool region of `text` starts for a syntax: the earliest start marker, or undefined. */
export function regionStart(syntax: CallSyntax, text: string): number | undefined {
  if (syntax.starts === undefined) return 0;
  let best: number | undefined;
  for (const marker of syntax.starts) {
    const index =
      marker.atStart === true
        ? text.trimStart().startsWith(marker.text)
          ? text.length - text.trimStart().length
          : -1
        : text.indexOf(marker.text);
    if (index !== -1 && (best === undefined || index < best)) best = index;
  }
  return best;
}

/** The OpenAI call of a complete partial call, or undefined when its arguments are not a JSON object. */
export function toolCallOf(call: PartialCall, id: string): ToolCall | undefined {
  if (!call.complete || call.name === undefined) return undefined;
  const argumentsText = normalizeArguments(call.argumentsText);
  if (argumentsText === undefined) return undefined;
  return { id: call.id ?? id, type: 'function', function: { name: call.name, arguments: argumentsText } };
}

/**
 * Parses a finished assistant message (decoded with its special tokens: the markers of DeepSeek, Mistral and gpt-oss
 * are special tokens) into content, reasoning and OpenAI `tool_calls`. Never throws on model output: a call that
 * cannot be read (truncated JSON, a missing name) leaves the message's text in `content` with `broken_tool_call`.
 */
export function parseToolCalls(text: string, options: ParseToolCallsOptions): ParsedAssistantMessage {
  const generateId = options.generateId ?? randomCallId;
  const syntax = SYNTAXES[options.format];
  const split =
    options.format === 'gpt-oss' ? { reasoning: '', content: text } : splitReasoning(text, options.startsInReasoning);
  const withReasoning = (message: ParsedAssistantMessage, reasoning: string): ParsedAssistantMessage =>
    reasoning === '' ? message : { ...message, reasoning_content: reasoning };
  const plain = (content: string, reasoning: string, broken = false): ParsedAssistantMessage =>
    withReasoning(
      { content, tool_calls: [], finish_reason: 'stop', ...(broken ? { broken_tool_call: true } : {}) },
      reasoning,
    );
  if (options.toolChoice === 'none' && options.format !== 'gpt-oss') return plain(split.content, split.reasoning);
  const start = regionStart(syntax, split.content);
  if (start === undefined) return plain(split.content, split.reasoning);
  const before = split.content.slice(0, start);
  const region = syntax.parse(split.content.slice(start), true);
  const reasoning = split.reasoning + region.reasoning;
  const calls = region.calls.map((call) => toolCallOf(call, generateId()));
  if (region.broken || calls.some((call) => call === undefined)) {
    const visible = options.format === 'gpt-oss' ? region.content : split.content;
    return plain(visible, reasoning, true);
  }
  const content = (before + region.content).trim();
  if (calls.length === 0 || options.toolChoice === 'none') return plain(content, reasoning);
  return withReasoning({ content, tool_calls: calls as ToolCall[], finish_reason: 'tool_calls' }, reasoning);
}
