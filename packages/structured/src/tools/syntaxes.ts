import type { CallSyntax } from './call-syntax.js';
import {
  commandRSyntax,
  deepseekSyntax,
  llama3Syntax,
  markedArraySyntax,
  mistralSyntax,
  taggedObjectSyntax,
} from './json-syntaxes.js';
import { functionarySyntax, glmSyntax, gptOssSyntax, qwen3CoderSyntax } from './text-syntaxes.js';
import type { ToolCallFormat } from './tool-call-types.js';

/** The syntax of each format. */
export const SYNTAXES: Readonly<Record<ToolCallFormat, CallSyntax>> = {
  hermes: taggedObjectSyntax('<tool_call>', '</tool_call>'),
  'qwen3-coder': qwen3CoderSyntax,
  glm: glmSyntax,
  llama3: llama3Syntax,
  mistral: mistralSyntax,
  functionary: functionarySyntax,
  'command-r': commandRSyntax,
  deepseek: deepseekSyntax,
  'gpt-oss': gptOssSyntax,
  granite: markedArraySyntax('<|tool_call|>'),
  nemotron: markedArraySyntax('<TOOLCALL>', '</TOOLCALL>'),
  apriel: markedArraySyntax('<tool_calls>', '</tool_calls>'),
};

/** Template markers that identify a format, most specific first. */
const DETECTION: readonly (readonly [ToolCallFormat, (source: string) => boolean])[] = [
  ['gpt-oss', (source) => source.includes('<|channel|>')],
  ['deepseek', (source) => source.includes('tool▁call▁begin')],
  ['mistral', (source) => source.includes('[TOOL_CALLS]')],
  ['functionary', (source) => source.includes('>>>')],
  ['command-r', (source) => source.includes('Action:') && source.includes('tool_name')],
  ['qwen3-coder', (source) => source.includes('<function=')],
  ['glm', (source) => source.includes('<arg_key>')],
  ['nemotron', (source) => source.includes('<TOOLCALL>')],
  ['apriel', (source) => source.includes('<tool_calls>')],
  ['granite', (source) => source.includes('<|tool_call|>')],
  ['hermes', (source) => source.includes('<tool_call>')],
  ['llama3', (source) => source.includes('<|python_tag|>') || source.includes('"parameters": ')],
];

/**
 * The tool-call format a chat template produces, found from the markers in its source (`<tool_call>` → hermes,
 * `[TOOL_CALLS]` → mistral, `<|channel|>` → gpt-oss, …); undefined when it shows none.
 */
export function toolCallFormatOf(templateSource: string): ToolCallFormat | undefined {
  return DETECTION.find(([, matches]) => matches(templateSource))?.[0];
}
