import { createCpuBackend } from '@strata/kernels-cpu';
import { describe, expect, it } from 'vitest';
import type { GenerateOptions } from '../generation/types.js';
import { aloneSteps, type FixtureModel, fixtureLoader, promptsOf, stepsOf } from '../testing/fixture-models.js';
import { createScheduler, type SchedulerRuntimeOptions } from './load-scheduler.js';
import type { Scheduler } from './scheduler.js';

// Models that mix sliding-window and full-attention layers (gemma2: alternating; gemma3: 5 local : 1 global; both
// fixtures have a window of 8) serve with a page group per window: the windowed layers' pages are given back once they
// fall out of the window, the full-attention layers keep every position. Each sequence must still give exactly the
// tokens (and logits) it gives alone through TextPipeline over contiguous ring caches (an independent path), over
// generations that cross the window many times.
const backend = createCpuBackend();
const CONTEXT = 128;
const PAGE = 4;
const CHUNK = 8;
const fixture = fixtureLoader(backend, CONTEXT);

function schedulerOver({ model, tokenizer }: FixtureModel, options: SchedulerRuntimeOptions = {}): Scheduler {
  return createScheduler({
    model,
    backend,
    tokenizer,
    contextLength: CONTEXT,
    chunkSize: CHUNK,
    pageSize: PAGE,
    ...options,
  });
}

/** The sliding window of the model's windowed layers (one window in these fixtures). */
function windowOf({ model }: FixtureModel): number {
  const windows = new Set(model.cacheSpecs.flatMap((spec) => (spec.window === undefined ? [] : [spec.window])));
  expect(windows.size).toBe(1);
  return [...windows][0]!;
}

/** The gauges of the full-attention group and of the windowed group. */
function groupsOf(engine: Scheduler) {
  const groups = engine.metrics.pageGroups;
  return {
    full: groups.find((group) => group.window === undefined)!,
    windowed: groups.find((group) => group.window !== undefined)!,
  };
}

async function alone(parts: FixtureModel, prompt: readonly number[], options: GenerateOptions) {
  return (await aloneSteps(parts, prompt, options, { backend, contextLength: CONTEXT })).tokens;
}

const long: GenerateOptions = { maxTokens: 40, ignoreEndOfGeneration: true };

describe('Scheduler over mixed-window models (page groups per window, CPU)', () => {
  it.for(['gemma2', 'gemma3'])(
    '%s: concurrent greedy requests over 40 tokens give exactly the tokens and logits each gives alone',
    async (name) => {
      const parts = await fixture(name);
      const window = windowOf(parts);
      const engine = schedulerOver(parts, { parallel: 4, prefixCache: false });
      expect(engine.metrics.pageGroups.map((group) => group.window)).toEqual([undefined, window]);
      let windowedPeak = 0;
      let fullPeak = 0;
      let overBound = 0;
      // A running sequence's windowed pages: those of its window, plus the chunk a step writes, plus one.
      const perSequence = Math.ceil((window + CHUNK) / PAGE) + 1;
      engine.observeSteps(() => {
        const { full, windowed } = groupsOf(engine);
        overBound = Math.max(overBound, windowed.usedPages - engine.metrics.running * perSequence);
        windowedPeak = Math.max(windowedPeak, windowed.usedPages);
        fullPeak = Math.max(fullPeak, full.usedPages);
      });
      const prompts = promptsOf(parts.prompt);
      const options: GenerateOptions = { ...long, returnLogits: true };
      const results = await Promise.all(prompts.map((prompt) => stepsOf(engine.submit(prompt, options))));
      for (const [index, prompt] of prompts.entries()) {
        const expected = await aloneSteps(parts, prompt, options, { backend, contextLength: CONTEXT });
        expect(results[index]!.tokens, `prompt ${index} tokens`).toEqual(expected.tokens);
        expect(results[index]!.logits, `prompt ${index} logits`).toEqual(expected.logits);
      }
      expect(overBound).toBeLessThanOrEqual(0);
      expect(windowedPeak).toBeGreaterThan(0);
      expect(fullPeak).toBeGreaterThan(windowedPeak);
      for (const group of engine.metrics.pageGroups) expect(group.usedPages).toBe(0);
      await engine.close();
    },
  );

  it('gemma2, one long sequence: the windowed group holds only its window while the full group grows', async () => {
    const parts = await fixture('gemma2');
    const window = windowOf(parts);
    const engine = schedulerOver(parts, { parallel: 1, prefixCache: false });
    const options: GenerateOptions = { maxTokens: 60, ignoreEndOfGeneration: true };
    const seen: { computed: number; full: number; windowed: number }[] = [];
    let computed = 0;
    engine.observeSteps((report) => {
      computed += report.tokens;
      const { full, windowed } = groupsOf(engine);
      if (engine.metrics.running === 1) seen.push({ computed, full: full.usedPages, windowed: windowed.usedPages });
    });
    const result = await engine.submit(parts.prompt, options).result;
    expect(result.tokens).toEqual(await alone(parts, parts.prompt, options));
    expect(seen.length).toBeGreaterThan(50);
    expect(seen.at(-1)!.computed).toBeGreaterThan(parts.prompt.length + 6 * window); // past the window many times
    for (const step of seen) {
      // The full group holds every position the sequence knows (its whole prompt from admission on).
      expect(step.full).toBe(Math.ceil(Math.max(step.computed, parts.prompt.length) / PAGE));
      // The windowed group holds the pages of positions computed − window + 1 … computed − 1 (the next query reads
      // them), and not one more.
      expect(step.windowed).toBeLessThanOrEqual(Math.ceil((window - 1) / PAGE) + 1);
      expect(step.windowed).toBeGreaterThan(0);
    }
    expect(engine.metrics.usedPages).toBe(0);
    await engine.close();
  });

  it('gemma2, a tiny KV budget: preemption recomputes and every request finishes with unchanged tokens', async () => {
    const parts = await fixture('gemma2');
    const probe = schedulerOver(parts);
    const bytesPerPage = probe.metrics.bytesPerPage; // one page of every group
    await probe.close();
    const budget = 12 * bytesPerPage;
    const engine = schedulerOver(parts, { parallel: 4, kvCacheBytes: budget, prefixCache: false });
    const { full, windowed } = groupsOf(engine);
    // The windowed group never gets more than an equal split would give it; the full group gets every byte left.
    expect(windowed.totalPages).toBeLessThanOrEqual(12);
    expect(full.totalPages).toBeGreaterThanOrEqual(12);
    expect(full.totalPages * full.bytesPerPage + windowed.totalPages * windowed.bytesPerPage).toBeLessThanOrEqual(
      budget,
    );
    const prompts = promptsOf(parts.prompt);
    const options: GenerateOptions = { maxTokens: 30, ignoreEndOfGeneration: true };
    const results = await Promise.all(prompts.map((prompt) => engine.submit(prompt, options).result));
    for (const [index, prompt] of prompts.entries()) {
      expect(results[index]!.tokens, `prompt ${index}`).toEqual(await alone(parts, prompt, options));
    }
    expect(engine.metrics.preemptions).toBeGreaterThan(0);
    for (const group of engine.metrics.pageGroups) expect(group.usedPages).toBe(0);
    await engine.close();
  });

  it('gemma3: an abort gives back the pages of every group, the other sequence goes on unchanged', async () => {
    const parts = await fixture('gemma3');
    const engine = schedulerOver(parts, { parallel: 2 });
    const held = () => engine.metrics.pageGroups.map((group) => group.usedPages - group.cachedPages);
    const baseline = held();
    const controller = new AbortController();
    const aborted = engine.submit(parts.prompt, { ...long, signal: controller.signal });
    const other = engine.submit(parts.prompt.slice(5, 18), long);
    let seen = 0;
    for await (const delta of aborted) {
      if (delta.token !== undefined && ++seen === 12) {
        // Both sequences hold pages of both groups (past the window: the windowed ones are only those of the window).
        for (const [group, pages] of held().entries()) {
          expect(pages, `group ${group}`).toBeGreaterThan(baseline[group]!);
        }
        controller.abort();
        break;
      }
    }
    expect((await aborted.result).finishReason).toBe('aborted');
    expect((await other.result).tokens).toEqual(await alone(parts, parts.prompt.slice(5, 18), long));
    expect(held()).toEqual(baseline);
    await engine.close();
  });

  it.for(['gemma2', 'gemma3'])(
    '%s: a reused prefix longer than the window skips its prefill and gives exactly the tokens alone',
    async (name) => {
      const parts = await fixture(name);
      const engine = schedulerOver(parts, { parallel: 2 });
      const system = parts.prompt.slice(0, 24); // 6 pages, three windows
      const first = await engine.submit([...system, 3, 4], long).result;
      expect(first.tokens).toEqual(await alone(parts, [...system, 3, 4], long));
      const second = [...system, 9, 8, 7];
      const result = await engine.submit(second, long).result;
      expect(result.stats.cachedPromptTokens).toBe(system.length);
      expect(result.tokens).toEqual(await alone(parts, second, long));
      // A conversation that goes on from the first reply reuses the same blocks.
      const turn = [...system, 3, 4, ...first.tokens.slice(0, 10), 5];
      const next = await engine.submit(turn, long).result;
      expect(next.stats.cachedPromptTokens).toBeGreaterThanOrEqual(system.length);
      expect(next.tokens).toEqual(await alone(parts, turn, long));
      await engine.close();
    },
  );

  it('gemma2: a prefix whose windowed pages were evicted is cut back and recomputed, with exact tokens', async () => {
    const parts = await fixture('gemma2');
    const probe = schedulerOver(parts);
    const bytesPerPage = probe.metrics.bytesPerPage;
    await probe.close();
    // One running sequence: the windowed group gets the pages of two sequences' windows, the full group the rest.
    const engine = schedulerOver(parts, { parallel: 1, kvCacheBytes: 40 * bytesPerPage });
    const { full, windowed } = groupsOf(engine);
    expect(windowed.totalPages).toBeLessThan(full.totalPages);
    const system = parts.prompt.slice(0, 24);
    const options: GenerateOptions = { maxTokens: 4, ignoreEndOfGeneration: true };
    await engine.submit([...system, 1], options).result;
    // An unrelated prompt of 8 pages needs the windowed pages the first prompt's blocks keep cached.
    const unrelated = [...parts.prompt.slice(12), ...parts.prompt.slice(0, 12), ...parts.prompt.slice(4, 12)];
    expect((await engine.submit(unrelated, options).result).tokens).toEqual(await alone(parts, unrelated, options));
    expect(engine.metrics.prefixCache.evictions).toBeGreaterThan(0);
    const again = [...system, 2];
    const result = await engine.submit(again, long).result;
    expect(result.stats.cachedPromptTokens).toBeLessThan(system.length);
    expect(result.tokens).toEqual(await alone(parts, again, long));
    await engine.close();
  });
});
