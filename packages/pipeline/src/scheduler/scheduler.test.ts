import { StrataError } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import type { CompleteModel } from '@strata/models';
import { beforeAll, describe, expect, it } from 'vitest';
import type { GenerateOptions } from '../generation/types.js';
import { createByteTokenizer, createToyModel, TOY_CONFIG } from '../testing/toy-model.js';
import { TextPipeline } from '../text-pipeline.js';
import { PagedReferenceExecutor } from '../testing/paged-reference-executor.js';
import type { SchedulerOptions } from './scheduler-options.js';
import { PerSequenceStepExecutor } from './per-sequence-executor.js';
import { Scheduler } from './scheduler.js';

const backend = createCpuBackend();
const tokenizer = createByteTokenizer();
let model: CompleteModel;

beforeAll(async () => {
  model = await createToyModel(backend);
});

const CONTEXT = 64;
const PAGE = 4;
const bytesPerPage = () =>
  new PerSequenceStepExecutor(model, backend, { contextLength: CONTEXT, chunkSize: 8, pageSize: PAGE }).bytesPerPage;

type ExecutorKind = 'per-sequence' | 'paged reference';
let kind: ExecutorKind = 'per-sequence';

/** A scheduler over the executor under test: today's per-sequence one, or the page-sharing reference. */
function scheduler(options: SchedulerOptions = {}) {
  const executor =
    kind === 'per-sequence'
      ? new PerSequenceStepExecutor(model, backend, { contextLength: CONTEXT, chunkSize: 8, pageSize: PAGE })
      : new PagedReferenceExecutor(model, backend, CONTEXT, 8, PAGE);
  return new Scheduler({ executor, tokenizer }, options);
}

/** The single-caller path (TextPipeline, one contiguous cache, its own chunking): the reference for every sequence. */
async function alone(prompt: readonly number[], options: GenerateOptions): Promise<number[]> {
  const pipeline = TextPipeline.fromParts({ model, backend, tokenizer, contextLength: CONTEXT, chunkSize: 5 });
  const result = await pipeline.generate(prompt, options).result;
  return [...result.tokens];
}

const prompts = Array.from({ length: 7 }, (_, index) =>
  Array.from({ length: 5 + index * 3 }, (_, position) => (position * 31 + index * 17 + 3) % 256),
);
const greedy: GenerateOptions = { maxTokens: 10, ignoreEndOfGeneration: true };

describe.each<ExecutorKind>(['per-sequence', 'paged reference'])(
  'Scheduler over the %s executor (toy model with a sliding-window layer, CPU)',
  (executorKind) => {
    beforeAll(() => {
      kind = executorKind;
    });

    it('runs many sequences at once, each giving exactly the tokens it gives alone', async () => {
      const engine = scheduler({ parallel: 3 });
      const generations = prompts.map((prompt) => engine.submit(prompt, greedy));
      const results = await Promise.all(generations.map((generation) => generation.result));
      for (const [index, prompt] of prompts.entries()) {
        expect(results[index]!.tokens).toEqual(await alone(prompt, greedy));
        expect(results[index]!.finishReason).toBe('max-tokens');
      }
      const metrics = engine.metrics;
      expect(metrics.running).toBe(0);
      // Only cached prefix blocks hold pages: one of the full-attention group each, and the windowed pages not evicted.
      expect(metrics.usedPages).toBe(metrics.prefixCache.pages.reduce((sum, pages) => sum + pages, 0));
      expect(metrics.pageGroups[0]!.usedPages).toBe(metrics.prefixCache.blocks);
      expect(metrics.steps).toBeLessThan(prompts.length * 10); // sequences shared steps
      await engine.close();
    });

    it('seeded sampling gives the same tokens as alone, also across preemption under a tiny KV budget', async () => {
      const sampled: GenerateOptions = {
        maxTokens: 12,
        temperature: 0.9,
        topK: 20,
        seed: 5,
        ignoreEndOfGeneration: true,
      };
      // 10 pages of 4 tokens: three sequences of up to 29 tokens cannot all keep their pages.
      const engine = scheduler({ parallel: 3, kvCacheBytes: 10 * bytesPerPage(), prefixCache: false });
      const chosen = prompts.slice(2, 6);
      const results = await Promise.all(chosen.map((prompt) => engine.submit(prompt, sampled).result));
      for (const [index, prompt] of chosen.entries())
        expect(results[index]!.tokens).toEqual(await alone(prompt, sampled));
      expect(engine.metrics.preemptions).toBeGreaterThan(0);
      expect(engine.metrics.usedPages).toBe(0);
      await engine.close();
    });

    it('warms up within a small KV budget (leaving out what it cannot hold), then forgets the warm-up', async () => {
      // 10 pages of 4 tokens: the warm-up prompts of 40 and 62 tokens (with their 2 tokens) cannot be held; the 11
      // shorter ones, the 2 sampled ones and the sweep of 2 sequences can.
      const engine = scheduler({ parallel: 2, kvCacheBytes: 10 * bytesPerPage() });
      expect(await engine.warmUp()).toBe(11 + 2 + 2);
      expect(engine.metrics).toMatchObject({
        requests: 0,
        promptTokens: 0,
        generatedTokens: 0,
        running: 0,
        usedPages: 0,
      });
      const prompt = prompts[0]!;
      expect((await engine.submit(prompt, greedy).result).tokens).toEqual(await alone(prompt, greedy));
      await engine.close();
    });

    it('shares page-aligned prompt prefixes: a second request prefills only its own tokens', async () => {
      const engine = scheduler({ parallel: 2 });
      const system = Array.from({ length: 20 }, (_, index) => 40 + index);
      const first = await engine.submit([...system, 1, 2, 3], greedy).result;
      expect(first.stats.cachedPromptTokens).toBe(0);
      const computedBefore = engine.metrics.promptTokens;
      const second = [...system, 9, 8];
      const result = await engine.submit(second, greedy).result;
      expect(result.stats.cachedPromptTokens).toBe(20);
      expect(engine.metrics.promptTokens - computedBefore).toBe(2);
      expect(engine.metrics.prefixCache.hitTokens).toBe(20);
      expect(result.tokens).toEqual(await alone(second, greedy));
      await engine.close();
    });

    it('a page-sharing executor holds a shared prefix once; a copying one holds it per sequence', async () => {
      const engine = scheduler({ parallel: 2 });
      let peak = 0;
      engine.observeSteps(() => {
        peak = Math.max(peak, engine.metrics.pageGroups[0]!.usedPages); // the full-attention layers' pages
      });
      const system = Array.from({ length: 20 }, (_, index) => 60 + index);
      const options = { ...greedy, maxTokens: 10 };
      const first = engine.submit([...system, 1, 2], options);
      const iterator = first[Symbol.asyncIterator]();
      await iterator.next(); // the prompt's 5 pages are published
      const second = engine.submit([...system, 3, 4], options);
      for (;;) if ((await iterator.next()).done === true) break;
      expect((await second.result).tokens).toEqual(await alone([...system, 3, 4], options));
      // 32 tokens take 8 pages: shared, 5 prefix pages + 3 own pages each = 11; copied, 8 + 8 + 5 cached = 21.
      if (kind === 'paged reference') expect(peak).toBeLessThanOrEqual(11);
      else expect(peak).toBeGreaterThan(11);
      await engine.close();
    });

    it('evicts cached blocks least recently used when the budget needs their pages', async () => {
      const engine = scheduler({ parallel: 1, kvCacheBytes: 12 * bytesPerPage() });
      const a = Array.from({ length: 17 }, (_, index) => 100 + index);
      const b = Array.from({ length: 17 }, (_, index) => 150 + index);
      await engine.submit(a, { ...greedy, maxTokens: 2 }).result;
      expect(engine.metrics.prefixCache.blocks).toBe(4);
      const result = await engine.submit(b, { ...greedy, maxTokens: 20 }).result;
      expect(result.tokens).toEqual(await alone(b, { ...greedy, maxTokens: 20 }));
      expect(engine.metrics.prefixCache.evictions).toBeGreaterThan(0);
      await engine.close();
    });

    it('an abort frees the sequence pages at once and the engine goes on', async () => {
      const engine = scheduler({ parallel: 2, prefixCache: false });
      const controller = new AbortController();
      const generation = engine.submit(prompts[3]!, { ...greedy, maxTokens: 40, signal: controller.signal });
      const other = engine.submit(prompts[4]!, greedy);
      let seen = 0;
      for await (const delta of generation) {
        if (delta.token !== undefined) seen++;
        if (seen === 3) {
          controller.abort();
          break;
        }
      }
      const result = await generation.result;
      expect(result.finishReason).toBe('aborted');
      expect(result.tokens.length).toBeLessThan(40);
      expect((await other.result).tokens).toEqual(await alone(prompts[4]!, greedy));
      expect(engine.metrics.usedPages).toBe(0);
      await engine.close();
    });

    it('stop strings, stop tokens and logprobs behave as in TextPipeline', async () => {
      const engine = scheduler();
      const reference = TextPipeline.fromParts({ model, backend, tokenizer, contextLength: CONTEXT, chunkSize: 8 });
      const options: GenerateOptions = { maxTokens: 12, logprobs: 2, ignoreEndOfGeneration: true };
      const expected = await reference.generate(prompts[1]!, options).result;
      const deltas = [];
      for await (const delta of engine.submit(prompts[1]!, options)) deltas.push(delta);
      expect(deltas.filter((delta) => delta.token !== undefined).map((delta) => delta.token)).toEqual(expected.tokens);
      expect(deltas[0]!.topLogprobs).toHaveLength(2);
      expect(deltas[0]!.logprob).toBeLessThanOrEqual(0);
      const stopAt = expected.tokens[4]!;
      const stopped = await engine.submit(prompts[1]!, { ...options, stopTokens: [stopAt] }).result;
      expect(stopped.finishReason).toBe('stop-token');
      expect(stopped.tokens.at(-1)).toBe(stopAt);
      await engine.close();
    });

    it('rejects bad requests with typed errors before queueing', async () => {
      const engine = scheduler({ maxWaiting: 1, kvCacheBytes: 8 * bytesPerPage() });
      expect(() => engine.submit([], greedy)).toThrow(StrataError);
      expect(() => engine.submit([999], greedy)).toThrowError(expect.objectContaining({ code: 'TOKEN_OUT_OF_RANGE' }));
      expect(() => engine.submit(new Array(CONTEXT).fill(1), greedy)).toThrowError(
        expect.objectContaining({ code: 'CONTEXT_OVERFLOW' }),
      );
      expect(() => engine.submit([1, 2], { maxTokens: 40 })).toThrowError(
        expect.objectContaining({ code: 'CONTEXT_OVERFLOW' }), // 42 tokens > the 32-token budget
      );
      expect(() => engine.submit([1], { temperature: -1 })).toThrowError(
        expect.objectContaining({ code: 'INVALID_SAMPLING_OPTIONS' }),
      );
      // Without maxTokens a request may use what the budget holds: 32 tokens, so 30 after a 2-token prompt.
      const open = await engine.submit([1, 2], { ignoreEndOfGeneration: true }).result;
      expect(open.tokens).toHaveLength(30);
      expect(open.finishReason).toBe('max-tokens');
      const first = engine.submit([1, 2], greedy);
      expect(() => engine.submit([1, 2], greedy)).toThrowError(
        expect.objectContaining({ code: 'INVALID_ARGUMENT', details: expect.objectContaining({ queueFull: true }) }),
      );
      await first.result;
      await engine.close();
      expect(() => engine.submit([1], greedy)).toThrowError(expect.objectContaining({ code: 'ABORTED' }));
    });

    it('close ends running sequences with an ABORTED error and frees everything', async () => {
      const engine = scheduler();
      const generation = engine.submit(prompts[2]!, { ...greedy, maxTokens: 50 });
      const iterator = generation[Symbol.asyncIterator]();
      await iterator.next();
      await engine.close();
      await expect(
        (async () => {
          for (;;) if ((await iterator.next()).done === true) return;
        })(),
      ).rejects.toMatchObject({ code: 'ABORTED' });
      expect(engine.metrics.usedPages).toBe(0);
    });
  },
);

describe('Scheduler with q8_0 KV pages (toy model with heads of 32 and a sliding-window layer, CPU)', () => {
  const config = { ...TOY_CONFIG, hiddenSize: 64, keyValueHeads: 2 };
  const runtime = { contextLength: CONTEXT, chunkSize: 8, pageSize: PAGE };

  it('reports the bytes of a q8_0 page (34/128 of f32) and gives each sequence its tokens alone, shared prefixes too', async () => {
    const wide = await createToyModel(backend, config);
    const executor = (cacheType: 'f32' | 'q8_0') =>
      new PerSequenceStepExecutor(wide, backend, { ...runtime, cacheType });
    // 3 layers of 2 KV heads of 32, keys and values: 4 bytes per value in f32; 34 bytes per 32 values in q8_0.
    expect(executor('f32').bytesPerPage).toBe(3 * 2 * 64 * 4 * PAGE);
    const engine = new Scheduler({ executor: executor('q8_0'), tokenizer }, { parallel: 3 });
    expect(engine.metrics.bytesPerPage).toBe((executor('f32').bytesPerPage * 34) / 128);
    const system = Array.from({ length: 12 }, (_, index) => 60 + index);
    const requests = prompts.slice(0, 4).map((prompt) => [...system, ...prompt]);
    const results = await Promise.all(requests.map((prompt) => engine.submit(prompt, greedy).result));
    const again = await engine.submit(requests[1]!, greedy).result;
    expect(again.stats.cachedPromptTokens).toBeGreaterThanOrEqual(system.length);
    const pipeline = TextPipeline.fromParts({
      model: wide,
      backend,
      tokenizer,
      contextLength: CONTEXT,
      chunkSize: 5,
      cacheType: 'q8_0',
    });
    for (const [index, prompt] of requests.entries()) {
      const expected = (await pipeline.generate(prompt, greedy).result).tokens;
      expect(results[index]!.tokens).toEqual(expected);
      if (index === 1) expect(again.tokens).toEqual(expected);
    }
    await engine.close();
    await pipeline.dispose();
  });
});
