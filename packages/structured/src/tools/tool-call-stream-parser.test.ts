import { describe, expect, it } from 'vitest';
import { CASES, renderedTurn } from '../testing/template-turns.js';
import { type AssistantDelta, createToolCallStreamParser } from './tool-call-stream-parser.js';
import type { ToolCallFormat } from './tool-call-types.js';

function stream(text: string, format: ToolCallFormat, chunk: number) {
  const parser = createToolCallStreamParser({ format });
  const deltas: AssistantDelta[] = [];
  for (let position = 0; position < text.length; position += chunk)
    deltas.push(...parser.push(text.slice(position, position + chunk)));
  const { deltas: last, message } = parser.finish();
  deltas.push(...last);
  const calls: { id: string; name: string; arguments: string }[] = [];
  for (const delta of deltas) {
    for (const fragment of delta.tool_calls ?? []) {
      if (fragment.id !== undefined)
        calls[fragment.index] = { id: fragment.id, name: fragment.function.name!, arguments: '' };
      calls[fragment.index]!.arguments += fragment.function.arguments ?? '';
    }
  }
  return {
    deltas,
    message,
    content: deltas.map((delta) => delta.content ?? '').join(''),
    reasoning: deltas.map((delta) => delta.reasoning_content ?? '').join(''),
    calls,
  };
}

describe('createToolCallStreamParser', () => {
  it.each(CASES)(
    'streams $file ($format) in small pieces to the same message',
    ({ file, format, calls, stringArguments, commandR }) => {
      const text = renderedTurn(file, calls, { stringArguments, commandR });
      for (const chunk of [1, 4, 17]) {
        const streamed = stream(text, format, chunk);
        expect(streamed.message.tool_calls.length).toBe(calls.length);
        expect(
          streamed.calls.map((call) => ({
            id: call.id,
            type: 'function',
            function: { name: call.name, arguments: call.arguments },
          })),
        ).toEqual(streamed.message.tool_calls);
        expect(streamed.content.trim()).toBe(streamed.message.content);
        expect(streamed.reasoning).toBe(streamed.message.reasoning_content ?? '');
      }
    },
  );

  it('streams content before the call at once and the arguments in pieces', () => {
    const text =
      'Let me check.\n<tool_call>\n{"name": "get_weather", "arguments": {"city": "Paris", "days": 3}}\n</tool_call>';
    const { deltas } = stream(text, 'hermes', 5);
    const firstCall = deltas.findIndex((delta) => delta.tool_calls !== undefined);
    expect(
      deltas
        .slice(0, firstCall)
        .map((delta) => delta.content)
        .join(''),
    ).toBe('Let me check.\n');
    const argumentPieces = deltas
      .flatMap((delta) => delta.tool_calls ?? [])
      .filter((fragment) => (fragment.function.arguments ?? '') !== '');
    expect(argumentPieces.length).toBeGreaterThan(3);
  });

  it('holds back a possible marker, then releases it as content when it is not one', () => {
    const parser = createToolCallStreamParser({ format: 'hermes' });
    expect(parser.push('a <tool')).toEqual([{ content: 'a ' }]);
    expect(parser.push('box>')).toEqual([{ content: '<toolbox>' }]);
    expect(parser.finish().message).toEqual({ content: 'a <toolbox>', tool_calls: [], finish_reason: 'stop' });
  });

  it('streams reasoning separately and reports a truncated call as content', () => {
    const { reasoning, content, message } = stream(
      '<think>hmm</think>Ok.<tool_call>\n{"name": "f", "arguments": {"a": ',
      'hermes',
      3,
    );
    expect(reasoning).toBe('hmm');
    expect(message.broken_tool_call).toBe(true);
    expect(content).toBe(message.content);
  });
});
