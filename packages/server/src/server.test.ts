import { createCpuBackend } from '@strata/kernels-cpu';
import { loadScheduler, type SchedulerRuntimeOptions, TextPipeline } from '@strata/pipeline';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningServer, startServer } from './start-server.js';

const MODEL = new URL('../../../../shared/fixtures/models/llama/model-f32.gguf', import.meta.url).pathname;
const KEY = 'test-key-123';
const backend = createCpuBackend();
const servers: RunningServer[] = [];
let server: RunningServer;
let client: OpenAI;
let reference: TextPipeline;

async function serve(options: SchedulerRuntimeOptions & { apiKey?: string } = {}): Promise<RunningServer> {
  const { apiKey, ...runtime } = options;
  const scheduler = await loadScheduler(MODEL, {
    backend,
    contextLength: 256,
    pageSize: 16,
    chunkSize: 64,
    ...runtime,
  });
  const started = await startServer({ models: [{ name: 'llama', scheduler }], port: 0, ...(apiKey ? { apiKey } : {}) });
  servers.push(started);
  return started;
}

/** The value of the gauge `name` with exactly the labels `labels` (in order). */
async function labelled(target: RunningServer, name: string, labels: Record<string, string>): Promise<number> {
  const text = await (await fetch(`${target.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).text();
  const rendered = Object.entries(labels)
    .map(([label, value]) => `${label}="${value}"`)
    .join(',');
  const match = new RegExp(`^${name}\\{${rendered}\\} (\\S+)$`, 'm').exec(text);
  if (match === null) throw new Error(`metric ${name}{${rendered}} not found`);
  return Number(match[1]);
}

async function metric(target: RunningServer, name: string): Promise<number> {
  const text = await (await fetch(`${target.url}/metrics`, { headers: { authorization: `Bearer ${KEY}` } })).text();
  const match = new RegExp(`^${name}\\{model="llama"\\} (\\S+)$`, 'm').exec(text);
  if (match === null) throw new Error(`metric ${name} not found`);
  return Number(match[1]);
}

/** The single-request path: what a prompt gives alone (TextPipeline, one caller, greedy). */
async function alone(prompt: string, maxTokens: number): Promise<string> {
  return (await reference.generate(prompt, { maxTokens }).result).text;
}

beforeAll(async () => {
  reference = await TextPipeline.load(MODEL, { backend, contextLength: 256 });
  server = await serve({ parallel: 4, apiKey: KEY });
  client = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: KEY, maxRetries: 0 });
});

afterAll(async () => {
  await Promise.all(servers.map((running) => running.shutdown()));
  await reference.dispose();
});

const messages = [
  { role: 'system' as const, content: 'You are terse.' },
  { role: 'user' as const, content: 'Say something about llamas.' },
];

describe('strata server through the official openai client (llama fixture, CPU)', () => {
  it('chat completion, streamed and not, gives the single-request tokens', async () => {
    const expected = await reference.chat(messages, { maxTokens: 12 }).result;
    const reply = await client.chat.completions.create({ model: 'llama', messages, temperature: 0, max_tokens: 12 });
    expect(reply.object).toBe('chat.completion');
    expect(reply.choices[0]!.message.content).toBe(expected.text);
    expect(reply.usage!.prompt_tokens).toBe(expected.stats.promptTokens);
    expect(reply.usage!.completion_tokens).toBe(expected.tokens.length);
    const stream = await client.chat.completions.create({
      model: 'llama',
      messages,
      temperature: 0,
      max_tokens: 12,
      stream: true,
      stream_options: { include_usage: true },
    });
    let text = '';
    let finish: string | null = null;
    let usage: OpenAI.CompletionUsage | null | undefined;
    for await (const chunk of stream) {
      text += chunk.choices[0]?.delta.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
      usage = chunk.usage ?? usage;
    }
    expect(text).toBe(expected.text);
    expect(finish).toBe(reply.choices[0]!.finish_reason);
    expect(usage!.total_tokens).toBe(reply.usage!.total_tokens);
  });

  it('completions, streamed and not; max_tokens ends with finish_reason "length"; stop strings', async () => {
    const banEnd = { '2': -100 } as Record<string, number>;
    const reply = await client.completions.create({
      model: 'llama',
      prompt: 'def fibonacci(n):',
      temperature: 0,
      max_tokens: 10,
      logit_bias: banEnd,
    });
    expect(reply.object).toBe('text_completion');
    expect(reply.choices[0]!.finish_reason).toBe('length');
    expect(reply.usage!.completion_tokens).toBe(10);
    const stream = await client.completions.create({
      model: 'llama',
      prompt: 'def fibonacci(n):',
      temperature: 0,
      max_tokens: 10,
      logit_bias: banEnd,
      stream: true,
    });
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.text ?? '';
    expect(text).toBe(reply.choices[0]!.text);
    const stop = reply.choices[0]!.text.slice(3, 6);
    const stopped = await client.completions.create({
      model: 'llama',
      prompt: 'def fibonacci(n):',
      temperature: 0,
      max_tokens: 10,
      logit_bias: banEnd,
      stop: [stop],
    });
    expect(stopped.choices[0]!.finish_reason).toBe('stop');
    expect(stopped.choices[0]!.text).toBe(reply.choices[0]!.text.slice(0, reply.choices[0]!.text.indexOf(stop)));
  });

  it('seed reproduces a sampled completion; n: 2 gives two choices; logprobs', async () => {
    const sampled = { model: 'llama', messages, temperature: 1, max_tokens: 16, logit_bias: { '2': -100 } };
    const first = await client.chat.completions.create({ ...sampled, seed: 42 });
    const again = await client.chat.completions.create({ ...sampled, seed: 42 });
    const other = await client.chat.completions.create({ ...sampled, seed: 7 });
    expect(again.choices[0]!.message.content).toBe(first.choices[0]!.message.content);
    expect(other.choices[0]!.message.content).not.toBe(first.choices[0]!.message.content);
    const two = await client.chat.completions.create({ ...sampled, seed: 42, n: 2 });
    expect(two.choices.map((choice) => choice.index)).toEqual([0, 1]);
    expect(two.choices[0]!.message.content).toBe(first.choices[0]!.message.content);
    expect(two.usage!.completion_tokens).toBe(32);
    const withLogprobs = await client.chat.completions.create({
      model: 'llama',
      messages,
      temperature: 0,
      max_tokens: 6,
      logprobs: true,
      top_logprobs: 3,
    });
    const content = withLogprobs.choices[0]!.logprobs!.content!;
    expect(content).toHaveLength(withLogprobs.usage!.completion_tokens);
    for (const entry of content) {
      expect(entry.top_logprobs).toHaveLength(3);
      expect(entry.logprob).toBeCloseTo(entry.top_logprobs[0]!.logprob, 6); // greedy picks the most likely
      expect(entry.logprob).toBeLessThan(0);
    }
  });

  it('lists models; answers 401, 404 and 400 in OpenAI error shape', async () => {
    expect((await client.models.list()).data.map((model) => model.id)).toEqual(['llama']);
    const wrongKey = new OpenAI({ baseURL: `${server.url}/v1`, apiKey: 'nope', maxRetries: 0 });
    await expect(wrongKey.models.list()).rejects.toMatchObject({ status: 401 });
    await expect(client.chat.completions.create({ model: 'unknown', messages, max_tokens: 2 })).rejects.toMatchObject({
      status: 404,
      code: 'model_not_found',
    });
    await expect(client.chat.completions.create({ model: 'llama', messages, temperature: 5 })).rejects.toMatchObject({
      status: 400,
      param: 'temperature',
    });
    const response = await fetch(`${server.url}/v1/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'llama', prompt: 'x '.repeat(400) }),
    });
    expect(response.status).toBe(400);
    const body = (await response.json()) as { error: Record<string, unknown> };
    expect(Object.keys(body.error).sort()).toEqual(['code', 'message', 'param', 'type']);
    expect(body.error.code).toBe('context_length_exceeded');
    expect(body.error.message).toMatch(/\d+ tokens but the context holds 256/);
    const health = await fetch(`${server.url}/health`);
    expect(await health.json()).toEqual({ status: 'ok' });
  });

  it('a client that aborts mid-stream frees its KV pages at once', async () => {
    const generatedBefore = await metric(server, 'strata_generated_tokens_total');
    const baseline =
      (await metric(server, 'strata_kv_pages_used')) - (await metric(server, 'strata_prefix_cache_blocks'));
    const controller = new AbortController();
    const stream = await client.completions.create(
      { model: 'llama', prompt: 'abort me', temperature: 0, max_tokens: 200, logit_bias: { '2': -100 }, stream: true },
      { signal: controller.signal },
    );
    let chunks = 0;
    try {
      for await (const _ of stream) {
        if (++chunks === 3) {
          expect(await metric(server, 'strata_running_sequences')).toBe(1);
          controller.abort();
        }
      }
    } catch {
      // the client reports its own abort
    }
    for (let attempt = 0; attempt < 50 && (await metric(server, 'strata_running_sequences')) > 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(await metric(server, 'strata_running_sequences')).toBe(0);
    expect((await metric(server, 'strata_kv_pages_used')) - (await metric(server, 'strata_prefix_cache_blocks'))).toBe(
      baseline,
    );
    // The sequence stopped long before its 200 tokens: the disconnect aborted it.
    expect((await metric(server, 'strata_generated_tokens_total')) - generatedBefore).toBeLessThan(100);
  });
});

describe('a mixed-window model through HTTP (gemma2 fixture: windowed and full-attention layers, window 8)', () => {
  it('reports KV pages per page group; the windowed group holds its window only; an abort frees every group', async () => {
    const gemma = await loadScheduler(MODEL.replace('/llama/', '/gemma2/'), {
      backend,
      contextLength: 128,
      pageSize: 4,
      chunkSize: 8,
      parallel: 2,
      prefixCache: false,
    });
    const mixed = await startServer({ models: [{ name: 'gemma2', scheduler: gemma }], port: 0 });
    servers.push(mixed);
    const mixedClient = new OpenAI({ baseURL: `${mixed.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const groups = ['full', 'window-8'];
    const used = (group: string) => labelled(mixed, 'strata_kv_group_pages_used', { model: 'gemma2', group });
    const total = () => labelled(mixed, 'strata_kv_pages_used', { model: 'gemma2' });
    for (const group of groups) {
      const free = await labelled(mixed, 'strata_kv_group_pages_free', { model: 'gemma2', group });
      expect(free).toBe(gemma.metrics.pageGroups[groups.indexOf(group)]!.totalPages);
    }
    const controller = new AbortController();
    const stream = await mixedClient.completions.create(
      { model: 'gemma2', prompt: 'abort me', temperature: 0, max_tokens: 100, logit_bias: { '2': -100 }, stream: true },
      { signal: controller.signal },
    );
    let chunks = 0;
    try {
      for await (const _ of stream) {
        if (++chunks === 40) {
          const [full, windowed] = [await used('full'), await used('window-8')];
          expect(full + windowed).toBe(await total());
          // 40 tokens in, the full-attention layers hold all of them; the windowed ones the pages of 8 positions.
          expect(full).toBeGreaterThanOrEqual(10);
          expect(windowed).toBeGreaterThan(0);
          expect(windowed).toBeLessThanOrEqual(Math.ceil(7 / 4) + 2);
          controller.abort();
        }
      }
    } catch {
      // the client reports its own abort
    }
    expect(chunks).toBeGreaterThanOrEqual(40);
    for (let attempt = 0; attempt < 50 && gemma.metrics.running > 0; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    for (const group of groups) expect(await used(group)).toBe(0);
    expect(await total()).toBe(0);
  });
});

const prompts = Array.from(
  { length: 16 },
  (_, index) => `Request ${index}: ${'ab cd ef '.slice(index % 7)}${index * 37}`,
);

describe('concurrency, prefix cache and preemption through HTTP', () => {
  it('16 concurrent greedy requests give exactly the tokens each gives alone', async () => {
    const busy = await serve({ parallel: 16 });
    const busyClient = new OpenAI({ baseURL: `${busy.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const replies = await Promise.all(
      prompts.map((prompt) =>
        busyClient.completions.create({ model: 'llama', prompt, temperature: 0, max_tokens: 12 }),
      ),
    );
    for (const [index, prompt] of prompts.entries()) {
      expect(replies[index]!.choices[0]!.text).toBe(await alone(prompt, 12));
    }
    expect(await metric(busy, 'strata_running_sequences')).toBe(0);
    // They ran together: far fewer engine steps than tokens generated (one request at a time needs more steps).
    expect(await metric(busy, 'strata_step_seconds_count')).toBeLessThan(
      (await metric(busy, 'strata_generated_tokens_total')) / 2,
    );
  });

  it('a second request with the same long system prompt prefills only its own tokens', async () => {
    const cached = await serve({ parallel: 2 });
    const cachedClient = new OpenAI({ baseURL: `${cached.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const system = { role: 'system' as const, content: 'You answer questions about camelids. '.repeat(4) };
    const ask = (question: string) =>
      cachedClient.chat.completions.create({
        model: 'llama',
        messages: [system, { role: 'user', content: question }],
        temperature: 0,
        max_tokens: 4,
      });
    const first = await ask('What do llamas eat?');
    const computedBefore = await metric(cached, 'strata_prompt_tokens_total');
    const second = await ask('Where do alpacas live?');
    const cachedTokens = second.usage!.prompt_tokens_details!.cached_tokens!;
    expect(first.usage!.prompt_tokens_details!.cached_tokens).toBe(0);
    expect(cachedTokens).toBeGreaterThanOrEqual(32);
    expect(await metric(cached, 'strata_prompt_tokens_total')).toBe(
      computedBefore + second.usage!.prompt_tokens - cachedTokens,
    );
    expect(await metric(cached, 'strata_prefix_cache_hit_tokens_total')).toBe(cachedTokens);
  });

  it('a tiny KV budget preempts sequences; every request still finishes with unchanged tokens', async () => {
    // A page of 16 tokens holds 2 layers × (keys + values) × 32 floats × 16 rows = 8 KiB; 12 pages for 6 requests.
    const tight = await serve({ parallel: 6, kvCacheBytes: 12 * 8192, prefixCache: false });
    const tightClient = new OpenAI({ baseURL: `${tight.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const chosen = prompts.slice(0, 6);
    const replies = await Promise.all(
      chosen.map((prompt) =>
        tightClient.completions.create({
          model: 'llama',
          prompt,
          temperature: 0,
          max_tokens: 40,
          logit_bias: { '2': -100 },
        }),
      ),
    );
    for (const [index, prompt] of chosen.entries()) {
      const expected = (await reference.generate(prompt, { maxTokens: 40, logitBias: { 2: -100 } }).result).text;
      expect(replies[index]!.choices[0]!.text).toBe(expected);
    }
    expect(await metric(tight, 'strata_preemptions_total')).toBeGreaterThan(0);
    expect(await metric(tight, 'strata_kv_pages_used')).toBe(0);
  });

  it('counts the engine steps started ahead in /metrics (none on the CPU by default, used when forced on)', async () => {
    expect(await metric(server, 'strata_steps_ahead_launched_total')).toBe(0);
    const ahead = await serve({ parallel: 2, apiKey: KEY, stepAhead: true });
    const aheadClient = new OpenAI({ baseURL: `${ahead.url}/v1`, apiKey: KEY, maxRetries: 0 });
    const prompt = 'The llama walked';
    const reply = await aheadClient.completions.create({ model: 'llama', prompt, temperature: 0, max_tokens: 12 });
    expect(reply.choices[0]!.text).toBe(await alone(prompt, 12));
    expect(await metric(ahead, 'strata_steps_ahead_launched_total')).toBeGreaterThan(0);
    expect(await metric(ahead, 'strata_steps_ahead_used_total')).toBeGreaterThan(0);
  });

  it('graceful shutdown ends a running stream with an error chunk and releases everything', async () => {
    const closing = await serve({ parallel: 2 });
    const closingClient = new OpenAI({ baseURL: `${closing.url}/v1`, apiKey: 'unused', maxRetries: 0 });
    const stream = await closingClient.completions.create({
      model: 'llama',
      prompt: 'keep going',
      temperature: 0,
      max_tokens: 200,
      logit_bias: { '2': -100 },
      stream: true,
    });
    let chunks = 0;
    let shutdown: Promise<void> | undefined;
    const consumed = (async () => {
      for await (const _ of stream) if (++chunks === 2) shutdown = closing.shutdown();
    })();
    await expect(consumed).rejects.toMatchObject({ error: expect.objectContaining({ code: 'unavailable' }) });
    await shutdown;
    expect(chunks).toBeLessThan(100);
    await expect(fetch(`${closing.url}/health`)).rejects.toThrow();
  });
});
