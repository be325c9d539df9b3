import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ChatTemplate } from '@strata/loaders';
import type { ToolCallFormat } from '../tools/tool-call-types.js';

/** Test helpers: assistant turns with tool calls, rendered by the fixtures' own chat templates. */

/** The fixtures' chat templates. */
export const TEMPLATES = fileURLToPath(new URL('../../../../../shared/fixtures/chat-templates/', import.meta.url));

const TOOLS = [
  {
    type: 'function',
    function: {
      name: 'get_weather',
      description: 'Get the weather',
      parameters: { type: 'object', properties: { city: { type: 'string' } }, required: ['city'] },
    },
  },
];
const COMMAND_R_TOOLS = [
  {
    name: 'get_weather',
    description: 'Get the weather',
    parameter_definitions: { city: { type: 'str', description: 'City', required: true } },
  },
];

/** A call to render. */
export interface Call {
  /** Function name. */
  readonly name: string;
  /** Arguments object. */
  readonly arguments: Record<string, unknown>;
}
/** A call with nested arguments. */
export const WEATHER: Call = {
  name: 'get_weather',
  arguments: { city: 'Paris', days: [1, 2], detail: { metric: true } },
};
/** A second call. */
export const TIME: Call = { name: 'get_time', arguments: { zone: 'CET', n: 2 } };

/** Ends of turn the templates append after the assistant message (the stop token; never part of generated text). */
const END_OF_TURN =
  /(<\|im_end\|>|<\|eot_id\|>|<\|end_of_text\|>|<｜end▁of▁sentence｜>|<\|end\|>\s*<\/s>|<\/s>|<\|call\|>)\s*$/;

/**
 * What the model generates for an assistant turn with these calls: the full rendering minus the rendering of the
 * conversation up to the generation prompt, minus the end-of-turn marker.
 */
export function renderedTurn(
  file: string,
  calls: readonly Call[],
  options: { stringArguments?: boolean; commandR?: boolean } = {},
): string {
  const template = new ChatTemplate(readFileSync(`${TEMPLATES}${file}.jinja`, 'utf8'));
  const base = {
    tools: options.commandR ? COMMAND_R_TOOLS : TOOLS,
    bosToken: '<s>',
    eosToken: '</s>',
    now: new Date(2026, 10, 22, 12),
  };
  const user = [{ role: 'user', content: 'Weather in Paris?' }];
  const toolCalls = calls.map((call, index) => ({
    id: `abc${index}defgh`.slice(0, 9),
    type: 'function',
    function: { name: call.name, arguments: options.stringArguments ? JSON.stringify(call.arguments) : call.arguments },
  }));
  const prefix = template.render({ ...base, messages: user as never, addGenerationPrompt: true });
  const full = template.render({
    ...base,
    messages: [...user, { role: 'assistant', content: 'Let me check.', tool_calls: toolCalls }] as never,
    addGenerationPrompt: false,
  });
  // Command-R's tool-use template puts its tool instructions after the conversation in the generation prompt, so its
  // assistant turn is found by its own turn marker instead.
  const turn = options.commandR
    ? full
        .slice(full.lastIndexOf('<|CHATBOT_TOKEN|>') + '<|CHATBOT_TOKEN|>'.length)
        .split(/<\|(?:END|START)_OF_TURN_TOKEN\|>/)[0]!
    : full.slice(prefix.length);
  if (!options.commandR && !full.startsWith(prefix))
    throw new Error(`${file}: the generation prompt is not a prefix of the turn`);
  return turn.replace(END_OF_TURN, '');
}

/** One round-trip case per template. */
export const CASES: readonly {
  file: string;
  format: ToolCallFormat;
  calls: readonly Call[];
  content: string;
  reasoning?: string;
  stringArguments?: boolean;
  commandR?: boolean;
}[] = [
  { file: 'Qwen-Qwen2.5-7B-Instruct', format: 'hermes', calls: [WEATHER, TIME], content: 'Let me check.' },
  { file: 'NousResearch-Hermes-3-Llama-3.1-8B-tool_use', format: 'hermes', calls: [WEATHER, TIME], content: '' },
  { file: 'ibm-granite-granite-4.1', format: 'hermes', calls: [WEATHER], content: 'Let me check.' },
  { file: 'MiMo-VL', format: 'hermes', calls: [WEATHER, TIME], content: 'Let me check.' },
  { file: 'Qwen3-Coder', format: 'qwen3-coder', calls: [WEATHER, TIME], content: 'Let me check.' },
  { file: 'GLM-4.6', format: 'glm', calls: [WEATHER, TIME], content: 'Let me check.' },
  { file: 'meta-llama-Llama-3.2-3B-Instruct', format: 'llama3', calls: [WEATHER], content: '' },
  { file: 'mistralai-Mistral-Nemo-Instruct-2407', format: 'mistral', calls: [WEATHER, TIME], content: '' },
  { file: 'Mistral-Small-3.2-24B-Instruct-2506', format: 'mistral', calls: [WEATHER, TIME], content: '' },
  {
    file: 'meetkai-functionary-medium-v3.2',
    format: 'functionary',
    calls: [WEATHER, TIME],
    content: 'Let me check.',
    stringArguments: true,
  },
  {
    file: 'CohereForAI-c4ai-command-r-plus-tool_use',
    format: 'command-r',
    calls: [WEATHER, TIME],
    content: 'Let me check.',
    commandR: true,
  },
  { file: 'deepseek-ai-DeepSeek-V3.1', format: 'deepseek', calls: [WEATHER, TIME], content: 'Let me check.' },
  { file: 'openai-gpt-oss-120b', format: 'gpt-oss', calls: [WEATHER], content: '', reasoning: 'Let me check.' },
  { file: 'unsloth-Apriel-1.5', format: 'apriel', calls: [WEATHER, TIME], content: 'Let me check.' },
];
