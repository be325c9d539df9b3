import { fileURLToPath } from 'node:url';
import { createCpuBackend } from '@strata/kernels-cpu';
import {
  type ChatCompletionChunk,
  type Completion,
  loadScheduler,
  OpenAICompatibleApi,
  type Scheduler,
} from '@strata/pipeline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { OpenAIApiError, OpenAIWorkerClient } from './openai-worker-client.js';
import { hostOpenAIApi } from './openai-worker-host.js';
import type { ApiEvent, ApiRequest } from './protocol.js';

// The page ↔ worker transport of the OpenAI-shaped API, over a real MessageChannel (structured clone, as between a page
// and its worker), against the same API called in process: the llama fixture on the CPU backend.
const LLAMA = fileURLToPath(new URL('../../../../shared/fixtures/models/llama/', import.meta.url));
let scheduler: Scheduler;
let api: OpenAICompatibleApi | undefined;
let client: OpenAIWorkerClient;
let channel: MessageChannel;
const sent: ApiRequest[] = [];

beforeAll(async () => {
  scheduler = await loadScheduler(LLAMA, { backend: createCpuBackend(), contextLength: 96, parallel: 1 });
  api = new OpenAICompatibleApi([{ name: 'llama', scheduler }]);
  channel = new MessageChannel();
  const worker = channel.port1;
  const page = channel.port2;
  const serve = hostOpenAIApi(
    () => api,
    (event) => worker.postMessage(event),
  );
  worker.onmessage = (event: MessageEvent<ApiRequest>) => serve(event.data);
  client = new OpenAIWorkerClient((message) => {
    sent.push(message);
    page.postMessage(message);
  });
  page.onmessage = (event: MessageEvent<ApiEvent>) => client.receive(event.data);
});

afterAll(async () => {
  channel.port1.close();
  channel.port2.close();
  await scheduler.close();
});

/** A chunk without what differs between two calls: id, time, and the prompt tokens the second found cached. */
const comparable = ({ id: _id, created: _created, usage, ...rest }: ChatCompletionChunk | Completion) => ({
  ...rest,
  usage: usage && { ...usage, prompt_tokens_details: undefined },
});

const messages = [
  { role: 'system' as const, content: 'Answer in rhymes.' },
  { role: 'user' as const, content: 'What is a cat?' },
];

describe('the OpenAI-shaped API across the worker boundary', () => {
  it('streams the same chunks as the API in process, and answers whole responses the same', async () => {
    const request = {
      model: 'llama',
      messages,
      temperature: 0,
      max_tokens: 6,
      stream: true as const,
      stream_options: { include_usage: true },
      return_tokens: true,
    };
    const remote: ChatCompletionChunk[] = [];
    for await (const chunk of await client.chat.completions.create(request)) remote.push(chunk);
    const local: ChatCompletionChunk[] = [];
    for await (const chunk of await api!.chat.completions.create(request)) local.push(chunk);
    expect(remote.map(comparable)).toEqual(local.map(comparable));
    expect(remote.at(-2)!.choices[0]!.tokens).toHaveLength(6);

    const completion = { model: 'llama', prompt: [1, 45, 99], temperature: 0, max_tokens: 4, logprobs: 2 };
    const whole = await client.completions.create(completion);
    expect(comparable(whole)).toEqual(comparable(await api!.completions.create(completion)));
  });

  it('rejects a bad request with OpenAI’s error object, naming the parameter', async () => {
    const failure = await client.chat.completions
      .create({ model: 'llama', messages, temperature: 5, stream: true })
      .catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAIApiError);
    expect(failure).toMatchObject({ status: 400, param: 'temperature', code: 'invalid_value' });
    const unknown = await client.completions.create({ model: 'gpt-4', prompt: 'hi' }).catch((error: unknown) => error);
    expect(unknown).toMatchObject({ status: 404, code: 'model_not_found' });
  });

  it('an abort ends the stream early with its last chunks; leaving the loop aborts the request', async () => {
    const controller = new AbortController();
    const chunks: ChatCompletionChunk[] = [];
    const stream = await client.chat.completions.create(
      { model: 'llama', messages, temperature: 0, max_tokens: 60, stream: true, return_tokens: true },
      { signal: controller.signal },
    );
    for await (const chunk of stream) {
      chunks.push(chunk);
      if (chunks.length === 3) controller.abort();
    }
    const tokens = chunks.at(-1)!.choices[0]!.tokens!;
    expect(chunks.at(-1)!.choices[0]!.finish_reason).toBe('stop');
    expect(tokens.length).toBeLessThan(60);
    expect(sent.filter((message) => message.type === 'api-abort')).toHaveLength(1);

    for await (const _chunk of await client.completions.create({ model: 'llama', prompt: 'a', stream: true })) break;
    expect(sent.filter((message) => message.type === 'api-abort')).toHaveLength(2);
    // The model is free again: a request after both runs to its end.
    const after = await client.completions.create({ model: 'llama', prompt: 'a', temperature: 0, max_tokens: 3 });
    expect(after.usage?.completion_tokens).toBe(3);
  });

  it('with no model loaded, says so as model_not_found', async () => {
    const loaded = api;
    api = undefined;
    try {
      const failure = await client.chat.completions
        .create({ model: 'llama', messages })
        .catch((error: unknown) => error);
      expect(failure).toMatchObject({ status: 404, code: 'model_not_found' });
      expect((failure as Error).message).toMatch(/No model is loaded/);
    } finally {
      api = loaded;
    }
  });
});
