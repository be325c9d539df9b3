import type { KeyValuePrecision } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { supportsPagedForward } from '@strata/models';
import { describe, expect, it, vi } from 'vitest';
import type { GenerateOptions } from '../generation/types.js';
import { createByteTokenizer, createToyModel } from '../testing/toy-model.js';
import {
  aloneSteps as aloneStepsOn,
  type FixtureModel as Loaded,
  fixtureLoader,
  promptsOf,
  stepsOf,
} from '../testing/fixture-models.js';
import { schedulerTensorCounts } from '../testing/scheduler-tensor-counts.js';
import { BatchedStepExecutor } from './batched-executor.js';
import { createScheduler, createStepExecutor } from './load-scheduler.js';
import { PerSequenceStepExecutor } from './per-sequence-executor.js';
import type { SchedulerRuntimeOptions } from './load-scheduler.js';

// Continuous batching through the batched executor on the CPU: every step is one forward over the rows of all running
// sequences (decode rows and prefill chunks together), attention through a paged pool. Each sequence must give exactly
// the tokens it gives alone through TextPipeline (one sequence, contiguous caches: an independent path).
const backend = createCpuBackend();
const CONTEXT = 64;

/** The fixture model `name` on the CPU (loaded once per file) and its reference prompt. */
const fixture = fixtureLoader(backend, CONTEXT);

const greedy: GenerateOptions = { maxTokens: 10, ignoreEndOfGeneration: true };

/** The tokens `prompt` gives alone: TextPipeline over contiguous caches, prefilled in chunks of 5. */
async function alone(parts: Loaded, prompt: readonly number[], options: GenerateOptions) {
  return (await aloneSteps(parts, prompt, options)).tokens;
}

/** The tokens and each step's logits `prompt` gives alone (see {@link alone}), with a cache of `cacheType`. */
function aloneSteps(
  parts: Loaded,
  prompt: readonly number[],
  options: GenerateOptions,
  cacheType: KeyValuePrecision = 'f32',
) {
  return aloneStepsOn(parts, prompt, options, { backend, contextLength: CONTEXT, cacheType });
}

function schedulerOver({ model, tokenizer }: Loaded, options: SchedulerRuntimeOptions = {}) {
  return createScheduler({ model, backend, tokenizer, contextLength: CONTEXT, chunkSize: 8, pageSize: 4, ...options });
}

describe('BatchedStepExecutor (CPU)', () => {
  // llama: plain GQA; mistral-swa: every layer windowed (pages dropped); gemma2: softcap and alternating windows;
  // qwen3moe: QK-norm and experts over many rows; phi2: parallel block, partial rotary, LayerNorm; qwen3 with an f16
  // cache; quant-base (heads of 64) with a q8_0 cache, each against the same cache type alone.
  // The other families of the registry go through the same blocks: each is checked the same way.
  it.for([
    ['llama', 'f32'],
    ['mistral-swa', 'f32'],
    ['gemma2', 'f32'],
    ['qwen3moe', 'f32'],
    ['phi2', 'f32'],
    ['qwen3', 'f16'],
    ['quant-base', 'q8_0'],
    ['llama-tied', 'f32'],
    ['mixtral', 'f32'],
    ['qwen2', 'f32'],
    ['phi3', 'f32'],
    ['starcoder2', 'f32'],
    ['gemma', 'f32'],
    ['gemma3', 'f32'],
  ] as const)(
    '%s, %s cache: concurrent greedy requests give exactly the tokens and logits each gives alone',
    async ([name, cacheType]) => {
      const parts = await fixture(name);
      const engine = schedulerOver(parts, { parallel: 4, cacheType });
      let widest = 0;
      let mixed = false;
      engine.observeSteps((report) => {
        widest = Math.max(widest, report.rows);
        mixed ||= report.rows > 1 && report.tokens > report.rows; // prefill chunks beside decode rows
      });
      const prompts = promptsOf(parts.prompt);
      // Logits too: a degenerate greedy stream (one token repeated) would hide a wrong attention.
      const options: GenerateOptions = { ...greedy, returnLogits: true };
      const results = await Promise.all(prompts.map((prompt) => stepsOf(engine.submit(prompt, options))));
      for (const [index, prompt] of prompts.entries()) {
        const expected = await aloneSteps(parts, prompt, options, cacheType);
        expect(results[index]!.tokens, `prompt ${index} tokens`).toEqual(expected.tokens);
        expect(results[index]!.logits, `prompt ${index} logits`).toEqual(expected.logits);
      }
      expect(widest).toBe(4);
      expect(mixed).toBe(true);
      // Only cached prefix blocks hold pages once every sequence ended (a page per group, windowed ones evictable).
      const cachedPages = engine.metrics.prefixCache.pages.reduce((sum, pages) => sum + pages, 0);
      expect(engine.metrics.usedPages).toBe(cachedPages);
      const full = engine.metrics.pageGroups.filter((group) => group.window === undefined);
      for (const group of full) expect(group.usedPages).toBe(engine.metrics.prefixCache.blocks);
      await engine.close();
    },
  );

  it('builder models get the batched executor; a model without the paged forward gets the per-sequence one', async () => {
    const { model } = await fixture('llama');
    const toy = await createToyModel(backend);
    const layout = { contextLength: CONTEXT, chunkSize: 8, pageSize: 4, cacheType: 'f32' as const, batched: true };
    expect(supportsPagedForward(model)).toBe(true);
    expect(createStepExecutor(model, backend, layout)).toBeInstanceOf(BatchedStepExecutor);
    expect(createStepExecutor(model, backend, { ...layout, batched: false })).toBeInstanceOf(PerSequenceStepExecutor);
    expect(supportsPagedForward(toy)).toBe(false);
    expect(createStepExecutor(toy, backend, layout)).toBeInstanceOf(PerSequenceStepExecutor);
    // The fallback still serves: the toy's tokens through the scheduler equal its tokens alone.
    const tokenizer = createByteTokenizer();
    const engine = createScheduler({ model: toy, backend, tokenizer, contextLength: CONTEXT, pageSize: 4 });
    const prompt = [5, 9, 14, 2, 7];
    const result = await engine.submit(prompt, greedy).result;
    expect(result.tokens).toEqual(await alone({ model: toy, tokenizer, prompt }, prompt, greedy));
    await engine.close();
  });

  it('shares a cached prefix in place (zero copy) and still gives exact tokens', async () => {
    const parts = await fixture('qwen3moe');
    const engine = schedulerOver(parts, { parallel: 2 });
    let peak = 0;
    engine.observeSteps(() => {
      peak = Math.max(peak, engine.metrics.usedPages);
    });
    const system = parts.prompt.slice(0, 16); // 4 pages
    const first = engine.submit([...system, 3, 4], greedy);
    const iterator = first[Symbol.asyncIterator]();
    await iterator.next(); // its 4 prompt pages are published
    const secondPrompt = [...system, 9, 8, 7];
    const second = engine.submit(secondPrompt, greedy);
    for (;;) if ((await iterator.next()).done === true) break;
    const secondResult = await second.result;
    expect(secondResult.stats.cachedPromptTokens).toBe(16);
    expect(secondResult.tokens).toEqual(await alone(parts, secondPrompt, greedy));
    expect((await first.result).tokens).toEqual(await alone(parts, [...system, 3, 4], greedy));
    // 28 and 29 tokens take 7 and 8 pages: shared in place, 4 prefix pages + 3 + 4 own pages = 11 at most.
    expect(peak).toBeLessThanOrEqual(11);
    await engine.close();
  });

  it('preempts under a tiny KV budget and still finishes everything with unchanged tokens', async () => {
    const parts = await fixture('llama');
    const probe = schedulerOver(parts);
    const bytesPerPage = probe.metrics.bytesPerPage;
    await probe.close();
    // 12 pages of 4 tokens: four sequences of up to 30 tokens cannot all keep their pages.
    const engine = schedulerOver(parts, { parallel: 4, kvCacheBytes: 12 * bytesPerPage, prefixCache: false });
    const prompts = promptsOf(parts.prompt);
    const long: GenerateOptions = { ...greedy, maxTokens: 12 };
    const results = await Promise.all(prompts.map((prompt) => engine.submit(prompt, long).result));
    for (const [index, prompt] of prompts.entries()) {
      expect(results[index]!.tokens, `prompt ${index}`).toEqual(await alone(parts, prompt, long));
    }
    expect(engine.metrics.preemptions).toBeGreaterThan(0);
    expect(engine.metrics.usedPages).toBe(0);
    await engine.close();
  });

  it('gives back the pages that fall out of the sliding window (mistral-swa, window 8)', async () => {
    const parts = await fixture('mistral-swa');
    const engine = schedulerOver(parts, { parallel: 1, prefixCache: false });
    const options: GenerateOptions = { maxTokens: 30, ignoreEndOfGeneration: true };
    const generation = engine.submit(parts.prompt, options);
    let peak = 0;
    for await (const delta of generation) {
      if (delta.token !== undefined) peak = Math.max(peak, engine.metrics.usedPages);
    }
    expect((await generation.result).tokens).toEqual(await alone(parts, parts.prompt, options));
    // While decoding, up to 54 tokens would hold 14 pages; a window of 8 reads positions next − 7 … next: 3 pages, and
    // the step in flight may hold the next one.
    expect(peak).toBeGreaterThan(0);
    expect(peak).toBeLessThanOrEqual(4);
    expect(engine.metrics.usedPages).toBe(0);
    await engine.close();
  });

  // Captured decode steps (one plan per row count, the page groups' index tensors as its inputs) run the same ops on
  // the CPU, where a plan runs its body each time: the batches built from the run's inputs must be the step's own.
  it.for(['llama', 'mistral-swa', 'gemma2'] as const)(
    '%s: captured decode steps give exactly the tokens and logits each request gives alone',
    async (name) => {
      const parts = await fixture(name);
      const capture = vi.spyOn(backend, 'captureStep');
      const engine = schedulerOver(parts, { parallel: 4, capturedDecode: true });
      const prompts = promptsOf(parts.prompt);
      const options: GenerateOptions = { ...greedy, returnLogits: true };
      const results = await Promise.all(prompts.map((prompt) => stepsOf(engine.submit(prompt, options))));
      // Plans of several row counts (sequences finish at different steps), each made once.
      const rowCounts = capture.mock.calls.map(([rows]) => rows);
      capture.mockRestore();
      expect(rowCounts.length).toBeGreaterThan(1);
      expect(new Set(rowCounts).size).toBe(rowCounts.length);
      for (const [index, prompt] of prompts.entries()) {
        const expected = await aloneSteps(parts, prompt, options);
        expect(results[index]!.tokens, `prompt ${index} tokens`).toEqual(expected.tokens);
        expect(results[index]!.logits, `prompt ${index} logits`).toEqual(expected.logits);
      }
      await engine.close();
    },
  );

  it('frees every tensor of a step by construction: only the pool outlives steps', async () => {
    const { idle, live, afterClose } = await schedulerTensorCounts('qwen3moe', {
      contextLength: CONTEXT,
      chunkSize: 8,
      pageSize: 4,
      parallel: 3,
    });
    expect(idle).toBeGreaterThan(0);
    expect(live.length).toBeGreaterThan(20);
    expect(new Set(live)).toEqual(new Set([idle]));
    expect(afterClose).toBe(0);
    // The same with captured decode steps: a plan's run frees what it makes like any step.
    const captured = await schedulerTensorCounts('llama', {
      contextLength: CONTEXT,
      chunkSize: 8,
      pageSize: 4,
      parallel: 3,
      capturedDecode: true,
    });
    expect(captured.live.length).toBeGreaterThan(20);
    expect(new Set(captured.live)).toEqual(new Set([captured.idle]));
    expect(captured.afterClose).toBe(0);
  });
});
