import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ChatTemplate } from '@strata/loaders';
import { describe, expect, it } from 'vitest';
import { parseToolCalls } from './parse-tool-calls.js';
import { toolCallFormatOf } from './syntaxes.js';
import type { ToolCallFormat } from './tool-call-types.js';

const TEMPLATES = fileURLToPath(new URL('../../../../../shared/fixtures/chat-templates/', import.meta.url));

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

interface Call {
  readonly name: string;
  readonly arguments: Record<string, unknown>;
}
const WEATHER: Call = { name: 'get_weather', arguments: { city: 'Paris', days: [1, 2], detail: { metric: true } } };
const TIME: Call = { name: 'get_time', arguments: { zone: 'CET', n: 2 } };

/** Ends of turn the templates append after the assistant message (the stop token; never part of generated text). */
const END_OF_TURN =
  /(<\|im_end\|>|<\|eot_id\|>|<\|end_of_text\|>|<｜end▁of▁sentence｜>|<\|end\|>\s*<\/s>|<\/s>|<\|call\|>)\s*$/;

/**
 * What the model generates for an assistant turn with these calls: the full rendering minus the rendering of the
 * conversation up to the generation prompt, minus the end-of-turn marker.
 */
function renderedTurn(
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
  if (!options.commandR) expect(full.startsWith(prefix)).toBe(true);
  return turn.replace(END_OF_TURN, '');
}

const CASES: readonly {
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

describe('parseToolCalls round-trips the fixtures’ own template renderings', () => {
  it.each(CASES)('$file ($format)', ({ file, format, calls, content, reasoning, stringArguments, commandR }) => {
    const text = renderedTurn(file, calls, { stringArguments, commandR });
    expect(toolCallFormatOf(readFileSync(`${TEMPLATES}${file}.jinja`, 'utf8'))).toBe(format);
    const parsed = parseToolCalls(text, { format });
    expect(parsed.broken_tool_call, text).toBeUndefined();
    expect(parsed.finish_reason).toBe('tool_calls');
    expect(
      parsed.tool_calls.map((call) => ({ name: call.function.name, arguments: JSON.parse(call.function.arguments) })),
    ).toEqual(calls);
    for (const call of parsed.tool_calls)
      expect(call).toMatchObject({ type: 'function', id: expect.stringMatching(/^\w+$/) });
    expect(parsed.content).toBe(content);
    expect(parsed.reasoning_content).toBe(reasoning);
  });
});

describe('parseToolCalls on other model output', () => {
  it('reports truncated or malformed calls as content with a flag, never throwing', () => {
    const truncated = 'Sure.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Par';
    expect(parseToolCalls(truncated, { format: 'hermes' })).toEqual({
      content: truncated,
      tool_calls: [],
      finish_reason: 'stop',
      broken_tool_call: true,
    });
    for (const [format, text] of [
      ['mistral', '[TOOL_CALLS][{"name": "a", "arguments": {"x": 1}}, {"name": '],
      ['deepseek', '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>f<｜tool▁sep｜>{"a": [1, 2'],
      ['llama3', '{"name": "f", "parameters": {"a": tru'],
      ['gpt-oss', '<|channel|>commentary to=functions.f <|constrain|>json<|message|>{"a": '],
      ['hermes', '<tool_call>\n{"name": "f", "arguments": "not json"}\n</tool_call>'],
      ['qwen3-coder', '<tool_call>\n<function=f>\n<parameter=a>\n1\n</parameter>\n'],
    ] as const) {
      const parsed = parseToolCalls(text, { format });
      expect(parsed.broken_tool_call, `${format}: ${text}`).toBe(true);
      expect(parsed.tool_calls).toEqual([]);
    }
  });

  it('separates <think> reasoning, also when the prompt opened it', () => {
    const parsed = parseToolCalls(
      '<think>\nThe user wants weather.\n</think>\n\n<tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>',
      {
        format: 'hermes',
      },
    );
    expect(parsed.reasoning_content).toBe('\nThe user wants weather.\n');
    expect(parsed.tool_calls[0]!.function).toEqual({ name: 'f', arguments: '{}' });
    const opened = parseToolCalls('Thinking it over.</think>The answer is 4.', {
      format: 'deepseek',
      startsInReasoning: true,
    });
    expect(opened).toEqual({
      content: 'The answer is 4.',
      reasoning_content: 'Thinking it over.',
      tool_calls: [],
      finish_reason: 'stop',
    });
  });

  it('reads Llama built-in calls after <|python_tag|>, Granite 3 lists and DeepSeek-R1 fenced calls', () => {
    const builtin = parseToolCalls('<|python_tag|>brave_search.call(query="weather in Paris", count=3)', {
      format: 'llama3',
    });
    expect(builtin.tool_calls[0]!.function).toEqual({
      name: 'brave_search',
      arguments: '{"query":"weather in Paris","count":3}',
    });
    const granite = parseToolCalls(
      '<|tool_call|>[{"name": "f", "arguments": {"a": 1}}, {"name": "g", "arguments": {}}]',
      { format: 'granite' },
    );
    expect(granite.tool_calls.map((call) => call.function.name)).toEqual(['f', 'g']);
    const r1 = parseToolCalls(
      '<｜tool▁calls▁begin｜><｜tool▁call▁begin｜>function<｜tool▁sep｜>get_weather\n```json\n{"city": "Paris"}\n```<｜tool▁call▁end｜><｜tool▁calls▁end｜>',
      { format: 'deepseek' },
    );
    expect(r1.tool_calls[0]!.function).toEqual({ name: 'get_weather', arguments: '{"city": "Paris"}' });
  });

  it("keeps everything as content with tool_choice 'none' and plain answers", () => {
    const text = 'Here: <tool_call>\n{"name": "f", "arguments": {}}\n</tool_call>';
    expect(parseToolCalls(text, { format: 'hermes', toolChoice: 'none' })).toEqual({
      content: text,
      tool_calls: [],
      finish_reason: 'stop',
    });
    expect(parseToolCalls('Just text.', { format: 'mistral' })).toEqual({
      content: 'Just text.',
      tool_calls: [],
      finish_reason: 'stop',
    });
  });
});
