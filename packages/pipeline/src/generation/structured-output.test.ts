import { StrataError } from '@strata/core';
import { grammarForToolChoice, parseToolCalls, type ToolDefinition } from '@strata/structured';
import { createCpuBackend } from '@strata/kernels-cpu';
import Ajv from 'ajv';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadTextPipeline } from '../load/load-text-pipeline.js';
import { OpenAICompatibleApi } from '../openai/openai-api.js';
import { createChoiceToolStream, parseChoice, toolCallingOf } from '../openai/tool-calling.js';
import { loadScheduler } from '../scheduler/load-scheduler.js';
import type { TextPipeline } from '../text-pipeline.js';

const FIXTURES = new URL('../../../../../shared/fixtures/models/', import.meta.url).pathname;

/** Nested objects, arrays, enums, bounded integers and required keys. */
const SCHEMA = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 6 },
    kind: { enum: ['cat', 'dog', 'bird'] },
    age: { type: 'integer', minimum: 0, maximum: 30 },
    tags: { type: 'array', items: { enum: ['a', 'b', 'c'] }, minItems: 1, maxItems: 3 },
    owner: {
      type: 'object',
      properties: { id: { type: 'integer', minimum: 1, maximum: 999 }, vip: { type: 'boolean' } },
      required: ['id', 'vip'],
    },
  },
  required: ['name', 'kind', 'age', 'tags', 'owner'],
} as const;

describe('structured output on a random-weight fixture model (CPU backend)', () => {
  let pipeline: TextPipeline;
  beforeAll(async () => {
    pipeline = await loadTextPipeline(`${FIXTURES}llama`, { backend: createCpuBackend(), contextLength: 160 });
  });

  it('50 seeded samples at temperature 1 under a JSON schema each parse and validate with ajv', async () => {
    const validate = new Ajv().compile(SCHEMA);
    const unconstrained = await pipeline.generate('Describe a pet as JSON:', { temperature: 1, seed: 1, maxTokens: 40 })
      .result;
    // The weights are random: without the constraint the output is noise, so the constraint is what is tested.
    expect(() => JSON.parse(unconstrained.text)).toThrow();
    for (let seed = 1; seed <= 50; seed++) {
      const result = await pipeline.generate('Describe a pet as JSON:', {
        temperature: 1,
        seed,
        maxTokens: 120,
        responseFormat: { type: 'json_schema', json_schema: { name: 'pet', schema: SCHEMA, strict: true } },
      }).result;
      expect(result.finishReason, result.text).toBe('stop-token');
      const value = JSON.parse(result.text);
      expect(validate(value), `${result.text}: ${JSON.stringify(validate.errors)}`).toBe(true);
    }
  });

  it('greedy, top-k/top-p and penalties apply inside a GBNF grammar and a regular expression', async () => {
    const list = await pipeline.generate('List:', {
      grammar: 'root ::= item ( ", " item ){1,3}\nitem ::= "x" [0-9] | "yy"',
      maxTokens: 40,
    }).result;
    expect(list.text).toMatch(/^(x[0-9]|yy)(, (x[0-9]|yy)){1,3}$/);
    const date = await pipeline.generate('Date:', {
      regex: '20[0-9]{2}-(0[1-9]|1[0-2])-[0-3][0-9]',
      temperature: 0.9,
      topK: 5,
      topP: 0.9,
      repetitionPenalty: 1.2,
      seed: 7,
      maxTokens: 40,
    }).result;
    expect(date.text).toMatch(/^20[0-9]{2}-(0[1-9]|1[0-2])-[0-3][0-9]$/);
    const object = await pipeline.generate('JSON:', {
      responseFormat: { type: 'json_object' },
      temperature: 0.7,
      seed: 3,
      maxTokens: 100,
    }).result;
    if (object.finishReason === 'stop-token') expect(typeof JSON.parse(object.text)).toBe('object');
    else expect(object.text.startsWith('{')).toBe(true);
  });

  it('a named tool_choice through the constraint option gives parseable calls of that tool', async () => {
    const tools: ToolDefinition[] = [
      {
        type: 'function',
        function: {
          name: 'set_mode',
          parameters: { type: 'object', properties: { mode: { enum: ['on', 'off'] } }, required: ['mode'] },
        },
      },
    ];
    for (const seed of [1, 2, 3]) {
      const result = await pipeline.generate('Switch it:', {
        temperature: 1,
        seed,
        maxTokens: 120,
        constraint: grammarForToolChoice('hermes', tools, { type: 'function', function: { name: 'set_mode' } }),
      }).result;
      expect(result.finishReason, result.text).toBe('stop-token');
      const parsed = parseToolCalls(result.text, { format: 'hermes' });
      expect(
        parsed.tool_calls.map((call) => call.function.name),
        result.text,
      ).toEqual(['set_mode']);
      expect(['on', 'off']).toContain(JSON.parse(parsed.tool_calls[0]!.function.arguments).mode);
    }
  });

  it('rejects an invalid grammar or schema before queueing, with its position or keyword', () => {
    expect(() => pipeline.generate('x', { grammar: 'root ::= "a" (' })).toThrow(
      expect.objectContaining({ code: 'INVALID_GRAMMAR', details: { line: 1, column: 14 } }),
    );
    const schema = { type: 'object', properties: { a: { type: 'string' } }, patternProperties: { b: {} } };
    let error: unknown;
    try {
      pipeline.generate('x', { responseFormat: { type: 'json_schema', json_schema: { name: 's', schema } } });
    } catch (caught) {
      error = caught;
    }
    expect(StrataError.isInstance(error, 'UNSUPPORTED_SCHEMA')).toBe(true);
    expect((error as StrataError).details).toMatchObject({ keyword: 'patternProperties' });
    expect(() => pipeline.generate('x', { grammar: 'root ::= "a"', regex: 'a' })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});

describe('response_format through the OpenAI-shaped API over the scheduler (CPU backend)', () => {
  it('json_schema: concurrent seeded samples at temperature 1 each validate; json_object parses; bad formats are 400s', async () => {
    const scheduler = await loadScheduler(`${FIXTURES}llama`, { backend: createCpuBackend(), contextLength: 192 });
    const api = new OpenAICompatibleApi([{ name: 'llama', scheduler }]);
    const validate = new Ajv().compile(SCHEMA);
    const messages = [{ role: 'user' as const, content: 'Describe a pet as JSON.' }];
    try {
      const replies = await Promise.all(
        [1, 2, 3, 4].map((seed) =>
          api.chat.completions.create({
            model: 'llama',
            messages,
            temperature: 1,
            seed,
            max_tokens: 120,
            response_format: { type: 'json_schema', json_schema: { name: 'pet', schema: SCHEMA, strict: true } },
          }),
        ),
      );
      for (const reply of replies) {
        const text = reply.choices[0]!.message.content ?? '';
        expect(reply.choices[0]!.finish_reason, text).toBe('stop');
        expect(validate(JSON.parse(text)), `${text}: ${JSON.stringify(validate.errors)}`).toBe(true);
      }
      const object = await api.chat.completions.create({
        model: 'llama',
        messages,
        max_tokens: 80,
        response_format: { type: 'json_object' },
      });
      // A random model may write one long string: JSON when it stops, an opened object when it runs out of tokens.
      const objectText = object.choices[0]!.message.content ?? '';
      if (object.choices[0]!.finish_reason === 'stop') expect(typeof JSON.parse(objectText)).toBe('object');
      else expect(objectText.startsWith('{')).toBe(true);
      const rejected = await api.chat.completions
        .create({ model: 'llama', messages, response_format: { type: 'xml' } as never })
        .catch((error: unknown) => error);
      expect(StrataError.isInstance(rejected, 'INVALID_ARGUMENT')).toBe(true);
      expect((rejected as StrataError).details.param).toBe('response_format');
      const unsupported = await api.chat.completions
        .create({
          model: 'llama',
          messages,
          response_format: {
            type: 'json_schema',
            json_schema: { name: 'odd', schema: { type: 'string', contentEncoding: 'base64' } },
          },
        })
        .catch((error: unknown) => error);
      expect(StrataError.isInstance(unsupported, 'UNSUPPORTED_SCHEMA')).toBe(true);
      // llama-server's `grammar` field, on both endpoints.
      const listed = await api.completions.create({
        model: 'llama',
        prompt: 'List:',
        grammar: 'root ::= item ( ", " item ){1,3}\nitem ::= "x" [0-9] | "yy"',
        max_tokens: 40,
      });
      expect(listed.choices[0]!.text).toMatch(/^(x[0-9]|yy)(, (x[0-9]|yy)){1,3}$/);
      const bad = await api.chat.completions
        .create({ model: 'llama', messages, grammar: 'root ::= (' })
        .catch((error: unknown) => error);
      expect(StrataError.isInstance(bad, 'INVALID_GRAMMAR')).toBe(true);
      // The scheduler keeps serving after a refused grammar.
      const after = await api.chat.completions.create({ model: 'llama', messages, max_tokens: 2 });
      expect(after.choices[0]!.finish_reason).toBe('length');
    } finally {
      await scheduler.close();
    }
  });
});

describe('tools through the OpenAI-shaped API (hermes-style template, CPU backend)', () => {
  // A short template whose source shows the hermes call markers, so the fixture's 256-token context holds the prompt.
  const TEMPLATE = `{%- for message in messages %}{{ message.role }}: {{ message.content }}
{% endfor %}{%- if tools %}tools:{% for tool in tools %} {{ tool.function.name }}{% endfor %} (call one as <tool_call>{"name": …, "arguments": …}</tool_call>)
{% endif %}assistant:`;
  const PARAMETERS = {
    type: 'object',
    properties: { city: { type: 'string', maxLength: 8 }, days: { type: 'integer', minimum: 1, maximum: 7 } },
    required: ['city', 'days'],
  } as const;
  const tools = [
    { type: 'function' as const, function: { name: 'get_weather', description: 'Weather', parameters: PARAMETERS } },
    { type: 'function' as const, function: { name: 'get_time', parameters: { type: 'object', properties: {} } } },
  ];

  it('a named tool_choice forces the call through the API; a finished call parses and streams as OpenAI deltas', async () => {
    const scheduler = await loadScheduler(`${FIXTURES}llama`, {
      backend: createCpuBackend(),
      contextLength: 256,
      chatTemplate: TEMPLATE,
    });
    const api = new OpenAICompatibleApi([{ name: 'llama', scheduler }]);
    const request = {
      model: 'llama',
      messages: [{ role: 'user' as const, content: 'Weather in Oslo?' }],
      tools,
      tool_choice: { type: 'function' as const, function: { name: 'get_weather' } },
      temperature: 0,
      max_tokens: 100,
    };
    try {
      // The random weights loop in the whitespace JSON allows, so the call does not finish in the fixture's 256-token
      // context; what the grammar forces is visible in the unfinished text.
      const forced = await api.chat.completions.create(request);
      expect(forced.choices[0]!.finish_reason).toBe('length');
      expect(forced.choices[0]!.message.content).toMatch(/^<tool_call>\n\{"name": "get_weather", "arguments": \{/);
      const none = await api.chat.completions.create({ ...request, tool_choice: 'none', max_tokens: 4 });
      expect(none.choices[0]!.message.tool_calls).toBeUndefined();
      const unknown = await api.chat.completions
        .create({ ...request, tool_choice: { type: 'function', function: { name: 'nope' } } })
        .catch((error: unknown) => error);
      expect((unknown as StrataError).details.param).toBe('tool_choice');

      // A finished call, as a model would write it: tokens in, OpenAI's message and stream deltas out.
      const calling = toolCallingOf(TEMPLATE, tools, 'auto')!;
      expect(calling.format).toBe('hermes');
      const text =
        'Let me check. <tool_call>\n{"name": "get_weather", "arguments": {"city": "Oslo", "days": 2}}\n</tool_call>';
      const tokens = scheduler.tokenizer.encode(text, { addSpecial: false, parseSpecial: true });
      const message = parseChoice(scheduler.tokenizer, tokens, calling);
      expect(message.finish_reason).toBe('tool_calls');
      expect(message.content.trim()).toBe('Let me check.');
      expect(message.tool_calls[0]!.function.name).toBe('get_weather');
      expect(JSON.parse(message.tool_calls[0]!.function.arguments)).toEqual({ city: 'Oslo', days: 2 });
      const stream = createChoiceToolStream(scheduler.tokenizer, calling);
      const deltas = tokens.flatMap((token) => stream.push(token));
      const finished = stream.finish();
      deltas.push(...finished.deltas);
      const streamedArguments = deltas
        .flatMap((delta) => delta.tool_calls ?? [])
        .map((call) => call.function.arguments ?? '')
        .join('');
      expect(JSON.parse(streamedArguments)).toEqual({ city: 'Oslo', days: 2 });
      expect(deltas.filter((delta) => (delta.tool_calls ?? []).length > 0).length).toBeGreaterThan(1);
      expect(finished.message.tool_calls[0]!.function.name).toBe('get_weather');
    } finally {
      await scheduler.close();
    }
  });
});
