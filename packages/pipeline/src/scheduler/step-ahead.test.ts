import { createCpuBackend } from '@strata/kernels-cpu';
import { supportsPagedForward } from '@strata/models';
import { describe, expect, it } from 'vitest';
import type { GenerateOptions } from '../generation/types.js';
import { createByteTokenizer, createToyModel } from '../testing/toy-model.js';
import { aloneSteps, type FixtureModel, fixtureLoader, promptsOf, stepsOf } from '../testing/fixture-models.js';
import { schedulerTensorCounts } from '../testing/scheduler-tensor-counts.js';
import { BatchedStepExecutor } from './batched-executor.js';
import { createScheduler, type SchedulerRuntimeOptions } from './load-scheduler.js';
import type { StepReport } from './scheduler-options.js';
import { Scheduler } from './scheduler.js';
import type { AheadRow } from './step-ahead-executor.js';
import type { StepRow } from './step-executor.js';

// Continuous batching one step ahead on the CPU (forced on with `stepAhead: true`; by default it runs only where the
// device defers work). Every sequence must give exactly the tokens it gives without it and alone through TextPipeline,
// and the guessed steps must actually have been used.
const backend = createCpuBackend();
const CONTEXT = 64;
const PAGE = 4;
const fixture = fixtureLoader(backend, CONTEXT);
const greedy: GenerateOptions = { maxTokens: 10, ignoreEndOfGeneration: true };

function schedulerOver({ model, tokenizer }: FixtureModel, options: SchedulerRuntimeOptions = {}) {
  return createScheduler({
    model,
    backend,
    tokenizer,
    contextLength: CONTEXT,
    chunkSize: 8,
    pageSize: PAGE,
    ...options,
  });
}

async function alone(parts: FixtureModel, prompt: readonly number[], options: GenerateOptions) {
  return (await aloneSteps(parts, prompt, options, { backend, contextLength: CONTEXT })).tokens;
}

/**
 * Runs a mixed workload on `engine`: four sequences of different lengths and token counts (they finish at different
 * steps), one with a stop string, one aborted after three tokens, and one joining once the first has four tokens.
 * Returns each sequence's tokens (the aborted one's up to the abort) and finish reason.
 */
async function workload(engine: Scheduler, parts: FixtureModel, stop: string) {
  const prompts = promptsOf(parts.prompt);
  const controller = new AbortController();
  const options: GenerateOptions[] = [
    { ...greedy, maxTokens: 14 },
    { ...greedy, maxTokens: 6 },
    { ...greedy, maxTokens: 20, stop: [stop] },
    { ...greedy, maxTokens: 30, signal: controller.signal },
  ];
  const runs = prompts.map((prompt, index) => engine.submit(prompt, options[index]!));
  let joiner: Promise<{ tokens: number[] }> | undefined;
  const first = (async () => {
    const tokens: number[] = [];
    for await (const delta of runs[0]!) {
      if (delta.token !== undefined) tokens.push(delta.token);
      if (tokens.length === 4) joiner = stepsOf(engine.submit(parts.prompt.slice(5, 16), greedy));
    }
    return tokens;
  })();
  const aborted = (async () => {
    const tokens: number[] = [];
    for await (const delta of runs[3]!) {
      if (delta.token !== undefined) tokens.push(delta.token);
      if (tokens.length === 3) controller.abort();
    }
    return tokens;
  })();
  const results = [
    await first,
    ...(await Promise.all([1, 2].map(async (index) => (await runs[index]!.result).tokens))),
  ];
  const reasons = await Promise.all(runs.map(async (run) => (await run.result).finishReason));
  return { results, aborted: await aborted, joined: (await joiner!).tokens, reasons, prompts, options };
}

describe('StepAhead: continuous batching one step ahead (CPU)', () => {
  it('gives exactly the tokens of the plain step loop and of each request alone, and uses its guesses', async () => {
    const parts = await fixture('llama');
    // A stop string from the middle of the third sequence's text alone.
    const reference = await aloneSteps(
      parts,
      promptsOf(parts.prompt)[2]!,
      { ...greedy, maxTokens: 20 },
      {
        backend,
        contextLength: CONTEXT,
      },
    );
    const text = parts.tokenizer.decode(reference.tokens.slice(6, 8));
    expect(text.length).toBeGreaterThan(0);
    const runs = [];
    for (const stepAhead of [true, false]) {
      // Three at a time: the fourth and the joiner wait for a slot, so sequences join as others leave.
      const engine = schedulerOver(parts, { parallel: 3, stepAhead, prefixCache: false });
      const reports: StepReport[] = [];
      engine.observeSteps((report) => reports.push(report));
      runs.push({ ...(await workload(engine, parts, text)), metrics: engine.metrics, reports });
      await engine.close();
    }
    const [ahead, plain] = runs as [(typeof runs)[0], (typeof runs)[0]];
    expect(ahead.results).toEqual(plain.results);
    expect(ahead.joined).toEqual(plain.joined);
    expect(ahead.reasons).toEqual(['max-tokens', 'max-tokens', 'stop-string', 'aborted']);
    expect(plain.reasons).toEqual(ahead.reasons);
    for (const [index, tokens] of ahead.results.entries()) {
      expect(tokens, `sequence ${index}`).toEqual(await alone(parts, ahead.prompts[index]!, ahead.options[index]!));
    }
    expect(ahead.joined).toEqual(await alone(parts, parts.prompt.slice(5, 16), greedy));
    // The aborted sequence's tokens are a prefix of its tokens alone.
    const abortedAlone = await alone(parts, ahead.prompts[3]!, { ...greedy, maxTokens: 30 });
    expect(ahead.aborted).toEqual(abortedAlone.slice(0, ahead.aborted.length));
    expect(ahead.aborted.length).toBeLessThan(30);
    // The guesses ran and were used; the join dropped at least one; the plain loop launched none.
    const counters = ahead.metrics.stepsAhead;
    expect(counters.used).toBeGreaterThan(5);
    expect(counters.dropped).toBeGreaterThan(0);
    expect(counters.launched).toBe(counters.used + counters.dropped);
    expect(ahead.reports.filter((report) => report.ahead)).toHaveLength(counters.used);
    expect(plain.metrics.stepsAhead).toEqual({ launched: 0, used: 0, dropped: 0 });
    expect(plain.reports.some((report) => report.ahead)).toBe(false);
    expect(ahead.metrics.generatedTokens).toBe(plain.metrics.generatedTokens);
    expect(ahead.metrics.usedPages).toBe(0);
  });

  it('preempts under a tiny KV budget with unchanged tokens, guessing where pages allow', async () => {
    const parts = await fixture('llama');
    const probe = schedulerOver(parts);
    const bytesPerPage = probe.metrics.bytesPerPage;
    await probe.close();
    const engine = schedulerOver(parts, {
      parallel: 4,
      kvCacheBytes: 12 * bytesPerPage,
      prefixCache: false,
      stepAhead: true,
    });
    const prompts = promptsOf(parts.prompt);
    const long: GenerateOptions = { ...greedy, maxTokens: 12 };
    const results = await Promise.all(prompts.map((prompt) => engine.submit(prompt, long).result));
    for (const [index, prompt] of prompts.entries()) {
      expect(results[index]!.tokens, `prompt ${index}`).toEqual(await alone(parts, prompt, long));
    }
    expect(engine.metrics.preemptions).toBeGreaterThan(0);
    expect(engine.metrics.stepsAhead.used).toBeGreaterThan(0);
    expect(engine.metrics.usedPages).toBe(0);
    await engine.close();
  });

  it('keeps exact tokens and logits with windowed page groups (gemma2: pages dropped past the window)', async () => {
    const parts = await fixture('gemma2');
    const engine = schedulerOver(parts, { parallel: 3, stepAhead: true });
    const prompts = promptsOf(parts.prompt).slice(0, 3);
    const options: GenerateOptions = { ...greedy, maxTokens: 24 };
    const results = await Promise.all(prompts.map((prompt) => engine.submit(prompt, options).result));
    for (const [index, prompt] of prompts.entries()) {
      expect(results[index]!.tokens, `prompt ${index}`).toEqual(await alone(parts, prompt, options));
    }
    expect(engine.metrics.stepsAhead.used).toBeGreaterThan(10);
    await engine.close();
  });

  it("a dropped guess whose page goes to another sequence cannot change that sequence's tokens", async () => {
    const parts = await fixture('llama');
    const first = parts.prompt.slice(0, 9);
    const second = parts.prompt.slice(10, 22);
    // The first sequence stops on a token whose guessed successor starts a fresh page: position 9 + k ≡ 0 (mod 4).
    const tokens = await alone(parts, first, { ...greedy, maxTokens: 20 });
    const k = tokens.findIndex(
      (token, index) => index >= 1 && (9 + index) % PAGE === 0 && !tokens.slice(0, index).includes(token),
    );
    expect(k).toBeGreaterThan(0);
    const stopAt: GenerateOptions = { ...greedy, maxTokens: 20, stopTokens: [tokens[k]!] };
    const model = parts.model;
    if (!supportsPagedForward(model)) throw new Error('the llama fixture offers the paged forward');
    const executor = new BatchedStepExecutor(model, backend, { contextLength: CONTEXT, chunkSize: 8, pageSize: PAGE });
    const launched: StepRow[][] = [];
    const guessed: AheadRow[][] = [];
    const launch = executor.launch.bind(executor);
    const launchAhead = executor.launchAhead.bind(executor);
    executor.launch = (rows) => {
      launched.push([...rows]);
      return launch(rows);
    };
    executor.launchAhead = (source, rows) => {
      guessed.push([...rows]);
      return launchAhead(source, rows);
    };
    // One sequence at a time: the second waits for the first's pages.
    const engine = new Scheduler(
      { executor, tokenizer: parts.tokenizer },
      { parallel: 1, prefixCache: false, stepAhead: true },
    );
    const a = engine.submit(first, stopAt);
    const b = engine.submit(second, greedy);
    const [resultA, resultB] = await Promise.all([a.result, b.result]);
    expect(resultA.finishReason).toBe('stop-token');
    expect(resultA.tokens).toEqual(tokens.slice(0, k + 1));
    // The guess for the position after the stop token was launched on a page of its own, then dropped.
    const stray = guessed.flat().find((row) => row.sequence === 1 && row.firstPosition === 9 + k);
    expect(stray).toBeDefined();
    const page = stray!.pageTables[0]![(9 + k) / PAGE]!;
    expect(engine.metrics.stepsAhead.dropped).toBeGreaterThan(0);
    // That page went to the second sequence, whose tokens are still its tokens alone.
    const secondRows = launched.flat().filter((row) => row.sequence === 2);
    expect(secondRows[0]!.pageTables[0]).toContain(page);
    expect(resultB.tokens).toEqual(await alone(parts, second, greedy));
    expect(engine.metrics.stepsAhead.used).toBeGreaterThan(0);
    await engine.close();
  });

  it('guesses only greedy decode rows: a sampled or logits-reading sequence runs without it, with exact tokens', async () => {
    const parts = await fixture('llama');
    const engine = schedulerOver(parts, { parallel: 2, stepAhead: true });
    const prompts = promptsOf(parts.prompt);
    const sampled: GenerateOptions = { ...greedy, temperature: 0.8, seed: 3 };
    const withLogits: GenerateOptions = { ...greedy, returnLogits: true };
    const [one, two] = await Promise.all([
      engine.submit(prompts[0]!, sampled).result,
      engine.submit(prompts[1]!, withLogits).result,
    ]);
    expect(one.tokens).toEqual(await alone(parts, prompts[0]!, sampled));
    expect(two.tokens).toEqual(await alone(parts, prompts[1]!, withLogits));
    expect(engine.metrics.stepsAhead.launched).toBe(0);
    await engine.close();
  });

  it('is off by default on the CPU and never runs over an executor that cannot launch ahead', async () => {
    const parts = await fixture('llama');
    const byDefault = schedulerOver(parts, { parallel: 2 });
    await Promise.all(promptsOf(parts.prompt).map((prompt) => byDefault.submit(prompt, greedy).result));
    expect(byDefault.metrics.stepsAhead.launched).toBe(0);
    await byDefault.close();
    const toy = await createToyModel(backend);
    const perSequence = createScheduler({
      model: toy,
      backend,
      tokenizer: createByteTokenizer(),
      contextLength: CONTEXT,
      pageSize: PAGE,
      stepAhead: true,
    });
    const result = await perSequence.submit([5, 9, 14, 2, 7], greedy).result;
    expect(result.tokens).toHaveLength(10);
    expect(perSequence.metrics.stepsAhead.launched).toBe(0);
    await perSequence.close();
  });

  it('frees every tensor by construction: a guess keeps only its tokens, and nothing outlives close', async () => {
    const { idle, live, metrics, afterClose } = await schedulerTensorCounts('llama', {
      contextLength: CONTEXT,
      chunkSize: 8,
      pageSize: PAGE,
      parallel: 3,
      stepAhead: true,
    });
    expect(metrics.stepsAhead.used).toBeGreaterThan(10);
    expect(live.length).toBeGreaterThan(20);
    // Besides the pools, at most the guess in flight: its batch's three index uploads until its reads are in, and its
    // greedy tokens; the count never grows from step to step.
    expect(Math.max(...live)).toBeLessThanOrEqual(idle + 4);
    expect(Math.max(...live.slice(-10))).toBeLessThanOrEqual(Math.max(...live.slice(0, 10)));
    expect(afterClose).toBe(0);
  });
});
