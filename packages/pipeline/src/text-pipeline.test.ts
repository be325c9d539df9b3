import { StrataError } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import type { CompleteModel } from '@strata/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { LocalExecutor } from './generation/local-executor.js';
import { createByteTokenizer, createToyModel } from './testing/toy-model.js';
import { TextPipeline } from './text-pipeline.js';

const backend = createCpuBackend();
const tokenizer = createByteTokenizer();
let model: CompleteModel;

beforeAll(async () => {
  model = await createToyModel(backend);
});

/** Greedy continuation computed without any cache reuse: the whole sequence is recomputed for every token. */
async function referenceGreedy(prompt: readonly number[], count: number): Promise<number[]> {
  const sequence = prompt.slice();
  const tokens: number[] = [];
  for (let step = 0; step < count; step++) {
    const executor = new LocalExecutor(model, backend, { contextLength: 64, chunkSize: 64 });
    const { token } = await executor.forward({
      ids: Int32Array.from(sequence),
      firstPosition: 0,
      choice: { kind: 'greedy' },
    });
    tokens.push(token!);
    sequence.push(token!);
  }
  return tokens;
}

function pipeline(options: { contextLength?: number; chunkSize?: number } = {}): TextPipeline {
  return TextPipeline.fromParts({ model, backend, tokenizer, contextLength: 48, chunkSize: 3, ...options });
}

const PROMPT = [256, 72, 105, 33, 32, 104, 101, 108, 108, 111];

describe('TextPipeline on a toy model (CPU backend)', () => {
  it('greedy generation with chunked prefill and a ring-buffer layer equals full recomputation', async () => {
    const expected = await referenceGreedy(PROMPT, 12);
    const result = await pipeline().generate(PROMPT, { maxTokens: 12, ignoreEndOfGeneration: true }).result;
    expect(result.tokens).toEqual(expected);
    expect(result.finishReason).toBe('max-tokens');
    expect(result.stats.generatedTokens).toBe(12);
    expect(result.stats.promptTokens).toBe(PROMPT.length);
  });

  it('streams deltas whose text joins to the result text, and reports stats', async () => {
    const generation = pipeline().generate('Hi!', { maxTokens: 8, ignoreEndOfGeneration: true });
    const deltas: string[] = [];
    const tokens: number[] = [];
    for await (const delta of generation) {
      deltas.push(delta.text);
      if (delta.token !== undefined) tokens.push(delta.token);
    }
    const result = await generation.result;
    expect(deltas.join('')).toBe(result.text);
    expect(tokens).toEqual(result.tokens);
    expect(result.text).toBe(tokenizer.decode(result.tokens, { skipSpecial: true }));
    expect(result.stats.timeToFirstTokenMs).toBeGreaterThan(0);
    expect(result.stats.prefillTokensPerSecond).toBeGreaterThan(0);
    expect(result.stats.decodeTokensPerSecond).toBeGreaterThan(0);
  });

  it('reuses the common prefix of the next request and still matches recomputation', async () => {
    const text = pipeline({ chunkSize: 2, contextLength: 40 });
    const first = await text.generate(PROMPT, { maxTokens: 6, ignoreEndOfGeneration: true }).result;
    const next = [...PROMPT, ...first.tokens, 44, 32, 119];
    const second = await text.generate(next, { maxTokens: 6, ignoreEndOfGeneration: true }).result;
    // The last generated token was never fed back, so it and what follows are recomputed.
    expect(second.stats.cachedPromptTokens).toBe(PROMPT.length + first.tokens.length - 1);
    expect(second.tokens).toEqual(await referenceGreedy(next, 6));
    // A diverging prompt keeps only the shared part.
    const third = await text.generate([...PROMPT.slice(0, 4), 65, 66], { maxTokens: 3, ignoreEndOfGeneration: true })
      .result;
    expect(third.stats.cachedPromptTokens).toBe(0); // the window-4 ring buffer (6 rows) was overwritten since position 4
    expect(third.tokens).toEqual(await referenceGreedy([...PROMPT.slice(0, 4), 65, 66], 3));
  });

  it('an AbortSignal stops generation promptly and leaves the pipeline usable', async () => {
    const text = pipeline();
    const controller = new AbortController();
    const generation = text.generate(PROMPT, { maxTokens: 50, ignoreEndOfGeneration: true, signal: controller.signal });
    let seen = 0;
    for await (const delta of generation) {
      if (delta.token !== undefined) seen++;
      if (seen === 2) controller.abort();
    }
    const result = await generation.result;
    expect(result.finishReason).toBe('aborted');
    expect(result.tokens.length).toBe(2);
    const again = await text.generate([...PROMPT, 33], { maxTokens: 4, ignoreEndOfGeneration: true }).result;
    expect(again.tokens).toEqual(await referenceGreedy([...PROMPT, 33], 4));
  });

  it('breaking out of the loop frees the pipeline for the next request', async () => {
    const text = pipeline();
    const generation = text.generate(PROMPT, { maxTokens: 50, ignoreEndOfGeneration: true });
    for await (const _ of generation) break;
    expect((await generation.result).finishReason).toBe('aborted');
    const after = await text.generate(PROMPT, { maxTokens: 3, ignoreEndOfGeneration: true }).result;
    expect(after.tokens).toEqual(await referenceGreedy(PROMPT, 3));
  });

  it('queues concurrent requests without mixing their outputs', async () => {
    const text = pipeline();
    const prompts = [PROMPT, [256, 120, 121, 122], [256, 50, 51]];
    const generations = prompts.map((prompt) => text.generate(prompt, { maxTokens: 5, ignoreEndOfGeneration: true }));
    const results = await Promise.all(generations.map((generation) => generation.result));
    for (const [index, prompt] of prompts.entries()) {
      expect(results[index]!.tokens).toEqual(await referenceGreedy(prompt, 5));
    }
    expect(results[1]!.stats.queueMs).toBeGreaterThanOrEqual(0);
  });

  it('stops at end-of-generation ids, extra stop tokens and max tokens, and says why', async () => {
    const text = pipeline();
    const free = await text.generate(PROMPT, { maxTokens: 6, ignoreEndOfGeneration: true }).result;
    const stopAt = free.tokens[2]!;
    const stopped = await text.generate(PROMPT, { maxTokens: 6, stopTokens: [stopAt] }).result;
    expect(stopped.finishReason).toBe('stop-token');
    expect(stopped.tokens).toEqual(free.tokens.slice(0, free.tokens.indexOf(stopAt) + 1));
  });

  it('seeded sampling is reproducible, and a different seed differs', async () => {
    const text = pipeline();
    const options = { maxTokens: 16, temperature: 1.5, topP: 0.95, ignoreEndOfGeneration: true };
    const a = await text.generate(PROMPT, { ...options, seed: 42 }).result;
    const b = await text.generate(PROMPT, { ...options, seed: 42 }).result;
    const c = await text.generate(PROMPT, { ...options, seed: 43 }).result;
    expect(a.tokens).toEqual(b.tokens);
    expect(c.tokens).not.toEqual(a.tokens);
  });

  it('reports logprobs and logits when asked', async () => {
    const result = pipeline().generate(PROMPT, {
      maxTokens: 2,
      logprobs: 3,
      returnLogits: true,
      ignoreEndOfGeneration: true,
    });
    for await (const delta of result) {
      if (delta.token === undefined) continue;
      expect(delta.logits).toHaveLength(260);
      expect(delta.topLogprobs).toHaveLength(3);
      expect(delta.topLogprobs![0]!.token).toBe(delta.token); // greedy picks the most likely token
      expect(delta.logprob).toBeCloseTo(delta.topLogprobs![0]!.logprob, 6);
      expect(delta.logprob!).toBeLessThan(0);
    }
  });

  it('rejects bad options before anything runs, naming the option', () => {
    const text = pipeline();
    const bad = [
      { temperature: -1 },
      { topP: 0 },
      { topP: 1.5 },
      { topK: 1.5 },
      { minP: Number.NaN },
      { repetitionPenalty: 0 },
    ];
    for (const options of bad) {
      const name = Object.keys(options)[0]!;
      expect(() => text.generate(PROMPT, options)).toThrow(
        expect.objectContaining({ code: 'INVALID_SAMPLING_OPTIONS' }),
      );
      try {
        text.generate(PROMPT, options);
      } catch (error) {
        expect(StrataError.isInstance(error) && error.message).toContain(`'${name}'`);
      }
    }
    expect(() => text.generate(PROMPT, { logitBias: { 999: 1 } })).toThrow(/logitBias\[999\]/);
    expect(() => text.generate(PROMPT, { maxTokens: 0 })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
    expect(() => text.generate(new Array(48).fill(65))).toThrow(expect.objectContaining({ code: 'CONTEXT_OVERFLOW' }));
    expect(() => text.generate([300])).toThrow(expect.objectContaining({ code: 'TOKEN_OUT_OF_RANGE' }));
  });

  it('stops when the context is full', async () => {
    const text = pipeline({ contextLength: 14 });
    const result = await text.generate(PROMPT, { maxTokens: 100, ignoreEndOfGeneration: true }).result;
    expect(result.finishReason).toBe('context-full');
    expect(PROMPT.length + result.tokens.length).toBe(15); // the last token is chosen but never written to the cache
  });

  it('chat renders the template without adding special tokens again', async () => {
    const rendered: string[] = [];
    const text = TextPipeline.fromParts({
      model,
      backend,
      tokenizer,
      contextLength: 48,
      chatTemplate: {
        render({ messages, addGenerationPrompt }) {
          const prompt =
            messages.map((message) => `<${message.role}>${message.content}`).join('') +
            (addGenerationPrompt ? '<a>' : '');
          rendered.push(prompt);
          return prompt;
        },
      },
    });
    const result = await text.chat([{ role: 'user', content: 'hi' }], { maxTokens: 3, ignoreEndOfGeneration: true })
      .result;
    expect(rendered).toEqual(['<user>hi<a>']);
    const ids = Array.from(new TextEncoder().encode('<user>hi<a>'));
    expect(result.tokens).toEqual(await referenceGreedy(ids, 3));
    expect(() => pipeline().chat([{ role: 'user', content: 'x' }])).toThrow(
      expect.objectContaining({ code: 'TEMPLATE_NOT_FOUND' }),
    );
  });

  it('decoding reads back only the chosen token: one read of an i32 [1] per step, no flush', async () => {
    const reads: (readonly number[])[] = [];
    let flushes = 0;
    const counting = new Proxy(backend, {
      get(target, property, receiver) {
        if (property === 'read') {
          return (tensor: Parameters<typeof backend.read>[0]) => {
            reads.push(tensor.shape);
            return target.read(tensor);
          };
        }
        if (property === 'flush') {
          return () => {
            flushes++;
            return target.flush();
          };
        }
        return Reflect.get(target, property, receiver);
      },
    });
    const text = TextPipeline.fromParts({ model, backend: counting, tokenizer, contextLength: 48, chunkSize: 4 });
    const prompt = [...PROMPT, 65, 66]; // 12 tokens: 3 prefill chunks
    const result = await text.generate(prompt, { maxTokens: 6, ignoreEndOfGeneration: true, temperature: 0.7, seed: 3 })
      .result;
    expect(result.tokens).toHaveLength(6);
    // 2 chunks that only fill the cache (a flush each), then 1 read per step: the last chunk and 5 decode steps.
    expect(flushes).toBe(2);
    expect(reads).toEqual(new Array(6).fill([1]));
  });

  it('a failing step rejects the result and leaves the pipeline usable', async () => {
    let steps = 0;
    const failing: CompleteModel = {
      ...model,
      transform(hidden, context) {
        if (++steps === 3) throw new StrataError('DEVICE_LOST', 'the device went away');
        return model.transform(hidden, context);
      },
    };
    const text = TextPipeline.fromParts({ model: failing, backend, tokenizer, contextLength: 48, chunkSize: 64 });
    const generation = text.generate(PROMPT, { maxTokens: 10, ignoreEndOfGeneration: true });
    await expect(generation.result).rejects.toMatchObject({ code: 'DEVICE_LOST' });
    const again = await text.generate([...PROMPT, 33], { maxTokens: 4, ignoreEndOfGeneration: true }).result;
    expect(again.tokens).toEqual(await referenceGreedy([...PROMPT, 33], 4));
    const iterated = text.generate([...PROMPT, 34], { maxTokens: 10, ignoreEndOfGeneration: true });
    steps = 1;
    await expect(async () => {
      for await (const _ of iterated) {
        // the second decode step fails
      }
    }).rejects.toThrow('the device went away');
    await expect(iterated.result).rejects.toMatchObject({ code: 'DEVICE_LOST' });
  });

  it('step hooks see every forward step: prefill chunks, then one decode step per token', async () => {
    const steps: { first: number; rows: number; chooses: boolean }[] = [];
    const text = TextPipeline.fromParts({
      model,
      backend,
      tokenizer,
      contextLength: 48,
      chunkSize: 4,
      hooks: {
        afterStep: ({ request, result, milliseconds }) => {
          expect(milliseconds).toBeGreaterThanOrEqual(0);
          expect(result.token !== undefined).toBe(request.choice !== undefined);
          steps.push({ first: request.firstPosition, rows: request.ids.length, chooses: request.choice !== undefined });
        },
      },
    });
    await text.generate(PROMPT, { maxTokens: 3, ignoreEndOfGeneration: true }).result;
    expect(steps).toEqual([
      { first: 0, rows: 4, chooses: false },
      { first: 4, rows: 4, chooses: false },
      { first: 8, rows: 2, chooses: true },
      { first: 10, rows: 1, chooses: true },
      { first: 11, rows: 1, chooses: true },
    ]);
  });
});
