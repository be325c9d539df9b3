import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CASES, renderedTurn, TEMPLATES } from '../testing/template-turns.js';
import { parseToolCalls } from './parse-tool-calls.js';
import { toolCallFormatOf } from './syntaxes.js';

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
