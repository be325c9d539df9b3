import { createCpuBackend } from '@strata/kernels-cpu';
import { beforeAll, describe, expect, it } from 'vitest';
import { createScheduler } from '../scheduler/load-scheduler.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { createByteTokenizer, createToyModel } from '../testing/toy-model.js';
import { TextPipeline } from '../text-pipeline.js';
import { OpenAICompatibleApi } from './openai-api.js';
import { toOpenAIError } from './openai-error.js';
import type { ChatCompletionChunk } from './openai-types.js';

const backend = createCpuBackend();
const tokenizer = createByteTokenizer();
/** A plain template: each message as `role: content`, then the assistant's header. */
const chatTemplate = {
  render: ({ messages }: { messages: readonly { role: string; content?: unknown }[] }) =>
    `${messages.map((message) => `${message.role}: ${String(message.content)}\n`).join('')}assistant:`,
};
let api: OpenAICompatibleApi;
let scheduler: Scheduler;
let reference: TextPipeline;

beforeAll(async () => {
  const model = await createToyModel(backend);
  scheduler = createScheduler({
    model,
    backend,
    tokenizer,
    chatTemplate,
    contextLength: 96,
    chunkSize: 8,
    pageSize: 4,
  });
  reference = TextPipeline.fromParts({ model, backend, tokenizer, chatTemplate, contextLength: 96 });
  api = new OpenAICompatibleApi([{ name: 'toy', scheduler }]);
});

const messages = [
  { role: 'system' as const, content: 'Be brief.' },
  { role: 'user' as const, content: [{ type: 'text' as const, text: 'Hi' }] },
];

describe('OpenAICompatibleApi (toy model)', () => {
  it('chat completion: OpenAI shape, the tokens TextPipeline gives, usage and finish_reason', async () => {
    const reply = await api.chat.completions.create({ model: 'toy', messages, temperature: 0, max_tokens: 6 });
    const expected = await reference.chat(
      [
        { role: 'system', content: 'Be brief.' },
        { role: 'user', content: 'Hi' },
      ],
      { maxTokens: 6 },
    ).result;
    expect(reply.object).toBe('chat.completion');
    expect(reply.id).toMatch(/^chatcmpl-/);
    expect(reply.choices[0]!.message).toEqual({ role: 'assistant', content: expected.text, refusal: null });
    expect(reply.choices[0]!.finish_reason).toBe(expected.finishReason === 'max-tokens' ? 'length' : 'stop');
    expect(reply.usage.completion_tokens).toBe(expected.tokens.length);
    expect(reply.usage.prompt_tokens).toBe(expected.stats.promptTokens);
  });

  it('streams chunks: a role chunk, content, a finish chunk per choice, and a usage chunk', async () => {
    const stream = await api.chat.completions.create({
      model: 'toy',
      messages,
      temperature: 0,
      max_tokens: 5,
      n: 2,
      logprobs: true,
      top_logprobs: 2,
      stream: true,
      stream_options: { include_usage: true },
    });
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of stream) chunks.push(chunk);
    const last = chunks.at(-1)!;
    expect(last.choices).toEqual([]);
    expect(last.usage!.completion_tokens).toBe(10);
    for (const index of [0, 1]) {
      const mine = chunks.filter((chunk) => chunk.choices[0]?.index === index);
      expect(mine[0]!.choices[0]!.delta).toEqual({ role: 'assistant', content: '' });
      expect(mine.at(-1)!.choices[0]!.finish_reason).toBe('length');
      expect(mine.filter((chunk) => chunk.choices[0]!.logprobs !== null).length).toBe(5);
      expect(mine[1]!.choices[0]!.logprobs!.content[0]!.top_logprobs).toHaveLength(2);
    }
    expect(new Set(chunks.map((chunk) => chunk.id)).size).toBe(1);
  });

  it('completions with echo and logprobs', async () => {
    const reply = await api.completions.create({
      model: 'toy',
      prompt: 'abc',
      temperature: 0,
      max_tokens: 4,
      echo: true,
      logprobs: 1,
    });
    expect(reply.object).toBe('text_completion');
    expect(reply.choices[0]!.text.startsWith('abc')).toBe(true);
    expect(reply.choices[0]!.logprobs!.token_logprobs).toHaveLength(4);
    expect(reply.choices[0]!.logprobs!.text_offset[0]).toBe(3);
  });

  it('truncation auto: the oldest turns left out (system prompt kept), reported, and the reply of the kept messages', async () => {
    const history: { role: 'system' | 'user' | 'assistant'; content: string }[] = [
      { role: 'system', content: 'Be brief.' },
    ];
    for (let turn = 0; turn < 5; turn++) {
      history.push(
        { role: 'user' as const, content: `question ${turn}` },
        { role: 'assistant' as const, content: `answer ${turn}` },
      );
    }
    const conversation = [...history, { role: 'user' as const, content: 'last one' }];
    const request = { model: 'toy', messages: conversation, temperature: 0, max_tokens: 8 };
    await expect(api.chat.completions.create(request)).rejects.toMatchObject({ code: 'CONTEXT_OVERFLOW' });
    const reply = await api.chat.completions.create({ ...request, truncation: 'auto', return_tokens: true });
    const dropped = reply.truncated_messages!;
    expect(dropped).toBeGreaterThan(0);
    // The reference: the same kept messages (the system prompt, then the newest turns) through TextPipeline.
    const kept = [conversation[0]!, ...conversation.slice(1 + dropped)];
    expect(kept[1]!.role).toBe('user');
    const rendered = chatTemplate.render({ messages: kept });
    expect(rendered.length + 8).toBeLessThanOrEqual(96);
    expect(
      chatTemplate.render({ messages: [kept[0]!, ...conversation.slice(dropped - 1)] }).length + 8,
    ).toBeGreaterThan(96);
    const expected = await reference.chat(kept, { maxTokens: 8 }).result;
    await reference.reset();
    expect(reply.choices[0]!.tokens).toEqual(expected.tokens);
    expect(reply.usage.prompt_tokens).toBe(rendered.length);
    // Streamed: every chunk says how many were left out; the chunk that ends the choice has its tokens.
    const chunks: ChatCompletionChunk[] = [];
    for await (const chunk of await api.chat.completions.create({
      ...request,
      truncation: 'auto',
      return_tokens: true,
      stream: true,
    })) {
      chunks.push(chunk);
    }
    expect(chunks.every((chunk) => chunk.truncated_messages === dropped)).toBe(true);
    expect(chunks.at(-1)!.choices[0]!.tokens).toEqual(expected.tokens);
    expect(chunks.slice(0, -1).every((chunk) => chunk.choices[0]!.tokens === undefined)).toBe(true);
    // Without return_tokens or truncation, neither field appears.
    const plain = await api.chat.completions.create({ ...request, messages: conversation.slice(-1) });
    expect(plain.truncated_messages).toBeUndefined();
    expect(plain.choices[0]!.tokens).toBeUndefined();
  });

  it('return_tokens on completions: the token ids of every choice, streamed and not', async () => {
    const request = { model: 'toy', prompt: 'abc', temperature: 0, max_tokens: 5, return_tokens: true };
    const expected = await reference.generate('abc', { maxTokens: 5 }).result;
    await reference.reset();
    const reply = await api.completions.create(request);
    expect(reply.choices[0]!.tokens).toEqual(expected.tokens);
    const ends = [];
    for await (const chunk of await api.completions.create({ ...request, n: 2, seed: 3, stream: true })) {
      if (chunk.choices[0]?.finish_reason != null) ends.push(chunk.choices[0]);
      else expect(chunk.choices[0]?.tokens).toBeUndefined();
    }
    expect(ends.map((choice) => choice.tokens)).toEqual([expected.tokens, expected.tokens]);
    await expect(api.completions.create({ ...request, return_tokens: 'yes' as never })).rejects.toMatchObject({
      details: { param: 'return_tokens' },
    });
  });

  it('maps bad requests to OpenAI error objects', async () => {
    const status = async (request: unknown) => {
      try {
        await api.chat.completions.create(request as never);
        return undefined;
      } catch (error) {
        return toOpenAIError(error);
      }
    };
    expect((await status({ model: 'nope', messages }))!).toMatchObject({
      status: 404,
      body: { error: { code: 'model_not_found' } },
    });
    expect((await status({ model: 'toy', messages, temperature: 3 }))!.body.error.param).toBe('temperature');
    expect((await status({ model: 'toy', messages: [] }))!.body.error.param).toBe('messages');
    expect(
      (await status({ model: 'toy', messages, response_format: { type: 'xml' } as never }))!.body.error.param,
    ).toBe('response_format');
    expect((await status({ model: 'toy', messages, top_logprobs: 2 }))!.status).toBe(400);
    const long = [{ role: 'user', content: 'x'.repeat(200) }];
    expect((await status({ model: 'toy', messages: long }))!).toMatchObject({
      status: 400,
      body: { error: { code: 'context_length_exceeded' } },
    });
    expect(toOpenAIError(new Error('secret')).body.error.message).not.toContain('secret');
  });

  it('a prompt that opens the reasoning (`<think>`) gives the reply as reasoning_content, streamed and not', async () => {
    const thinking = createScheduler({
      model: await createToyModel(backend),
      backend,
      tokenizer,
      chatTemplate: { render: (input) => `${chatTemplate.render(input)}<think>\n` },
      contextLength: 96,
      chunkSize: 8,
      pageSize: 4,
    });
    const reasoner = new OpenAICompatibleApi([{ name: 'thinker', scheduler: thinking }]);
    try {
      const request = { model: 'thinker', messages, temperature: 0, max_tokens: 6 };
      const reply = await reasoner.chat.completions.create(request);
      // The toy model never writes </think>: all of its text is reasoning, none is content.
      expect(reply.choices[0]!.message.content).toBe('');
      expect(typeof reply.choices[0]!.message.reasoning_content).toBe('string');
      const stream = await reasoner.chat.completions.create({ ...request, stream: true });
      let reasoning = '';
      let content = '';
      for await (const chunk of stream) {
        reasoning += chunk.choices[0]?.delta.reasoning_content ?? '';
        content += chunk.choices[0]?.delta.content ?? '';
      }
      expect(reasoning).toBe(reply.choices[0]!.message.reasoning_content);
      expect(content).toBe('');
    } finally {
      await thinking.close();
    }
  });
});
