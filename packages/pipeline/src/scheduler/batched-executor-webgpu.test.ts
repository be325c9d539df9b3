import { readFileSync } from 'node:fs';
import type { Backend } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { useWebGpuBackend } from '../testing/webgpu-backend.js';
import { loadScheduler } from './load-scheduler.js';

// The batched executor on WebGPU (lavapipe in CI), kept to one small test: lavapipe is a CPU Vulkan. Skips, saying why,
// only when Dawn finds no adapter; STRATA_REQUIRE_WEBGPU=1 turns that into a failure.
const FIXTURES = new URL('../../../../../shared/fixtures/models/', import.meta.url).pathname;
const webGpu = useWebGpuBackend();

interface Expected {
  readonly input_ids: number[];
  readonly logits: number[][];
  readonly greedy_new_tokens: number[];
}
const readExpected = () => JSON.parse(readFileSync(`${FIXTURES}llama/expected.json`, 'utf8')) as Expected;
const argmax = (row: readonly number[]) => row.indexOf(Math.max(...row));
/** A scheduler over the llama fixture: 40-token contexts, 8-row prefill chunks, pages of 4. */
const llamaScheduler = (
  backend: Backend,
  parallel: number,
  options: { stepAhead?: boolean; capturedDecode?: boolean } = {},
) => loadScheduler(`${FIXTURES}llama`, { backend, contextLength: 40, chunkSize: 8, pageSize: 4, parallel, ...options });

describe('BatchedStepExecutor on WebGPU', () => {
  it("batched greedy tokens equal the llama fixture's reference tokens", async (context) => {
    const expected = readExpected();
    const scheduler = await llamaScheduler(webGpu(context), 3);
    // Three sequences in every step (prefill chunks beside decode rows); the shorter two start like the full prompt,
    // so their first pages come from the prefix cache once the full prompt published them.
    const full = scheduler.submit(expected.input_ids, {
      maxTokens: expected.greedy_new_tokens.length,
      ignoreEndOfGeneration: true,
    });
    const prefixes = [9, 13].map((length) =>
      scheduler.submit(expected.input_ids.slice(0, length), { maxTokens: 4, ignoreEndOfGeneration: true }),
    );
    let widest = 0;
    scheduler.observeSteps((report) => {
      widest = Math.max(widest, report.rows);
    });
    expect((await full.result).tokens).toEqual(expected.greedy_new_tokens);
    // The reference's logits at the last prompt position give each shorter prompt's first token.
    for (const [index, length] of [9, 13].entries()) {
      expect((await prefixes[index]!.result).tokens[0]).toBe(argmax(expected.logits[length - 1]!));
    }
    expect(widest).toBe(3);
    await scheduler.close();
  });
  it('a step over 12 sequences (mat-vec row groups) gives the reference tokens', async (context) => {
    const expected = readExpected();
    const scheduler = await llamaScheduler(webGpu(context), 12);
    let widest = 0;
    scheduler.observeSteps((report) => {
      widest = Math.max(widest, report.rows);
    });
    // The full prompt and eleven prefixes decode side by side: steps of 12 decode rows (two row groups of 6).
    const lengths = [4, 5, 6, 7, 8, 10, 11, 14, 17, 19, 22];
    const full = scheduler.submit(expected.input_ids, {
      maxTokens: expected.greedy_new_tokens.length,
      ignoreEndOfGeneration: true,
    });
    const prefixes = lengths.map((length) =>
      scheduler.submit(expected.input_ids.slice(0, length), { maxTokens: 6, ignoreEndOfGeneration: true }),
    );
    expect((await full.result).tokens).toEqual(expected.greedy_new_tokens);
    for (const [index, length] of lengths.entries()) {
      expect((await prefixes[index]!.result).tokens[0], `prefix of ${length}`).toBe(
        argmax(expected.logits[length - 1]!),
      );
    }
    expect(widest).toBeGreaterThan(8);
    await scheduler.close();
  });
  it("captured decode steps (stepping ahead, sequences joining and leaving) give the eager steps' tokens", async (context) => {
    const backend = webGpu(context);
    const expected = readExpected();
    const prompts = [expected.input_ids, expected.input_ids.slice(2, 5), expected.input_ids.slice(5, 17)];
    const run = async (capturedDecode: boolean) => {
      const captureStep = backend.captureStep.bind(backend);
      const rowCounts: number[] = [];
      backend.captureStep = (rows, body, inputShapes) => {
        rowCounts.push(rows);
        return captureStep(rows, body, inputShapes);
      };
      try {
        const scheduler = await llamaScheduler(backend, 2, { capturedDecode });
        const results = await Promise.all(
          prompts.map(
            (prompt, index) =>
              scheduler.submit(prompt, { maxTokens: index === 1 ? 24 : 8, ignoreEndOfGeneration: true }).result,
          ),
        );
        await scheduler.close();
        return { tokens: results.map((result) => result.tokens), rowCounts };
      } finally {
        backend.captureStep = captureStep;
      }
    };
    const captured = await run(true);
    const eager = await run(false);
    // Plans of 1 and 2 rows, each captured once, replayed across page boundaries (pages of 4) and positions.
    expect(new Set(captured.rowCounts)).toEqual(new Set([1, 2]));
    expect(captured.rowCounts).toHaveLength(2);
    expect(eager.rowCounts).toHaveLength(0);
    expect(captured.tokens[0]).toEqual(expected.greedy_new_tokens.slice(0, 8));
    expect(captured.tokens).toEqual(eager.tokens);
  });
  it('steps ahead by default (guesses used and dropped) with the tokens of the plain step loop', async (context) => {
    const backend = webGpu(context);
    const expected = readExpected();
    const prompts = [expected.input_ids, expected.input_ids.slice(2, 5), expected.input_ids.slice(5, 17)];
    // The first stops on its fourth token while the second decodes on and the third waits for a slot: the guess
    // launched with that token is dropped when the third joins.
    const stopTokens = [expected.greedy_new_tokens[3]!];
    const run = async (stepAhead: boolean | undefined) => {
      const scheduler = await llamaScheduler(backend, 2, stepAhead === undefined ? {} : { stepAhead });
      const results = await Promise.all(
        prompts.map(
          (prompt, index) =>
            scheduler.submit(prompt, {
              maxTokens: index === 1 ? 20 : 8,
              ignoreEndOfGeneration: true,
              ...(index === 0 ? { stopTokens } : {}),
            }).result,
        ),
      );
      const counters = scheduler.metrics.stepsAhead;
      await scheduler.close();
      return { tokens: results.map((result) => result.tokens), counters };
    };
    const ahead = await run(undefined);
    const plain = await run(false);
    expect(ahead.tokens[0]).toEqual(expected.greedy_new_tokens.slice(0, 4));
    expect(ahead.tokens).toEqual(plain.tokens);
    expect(ahead.counters.used).toBeGreaterThan(3);
    expect(ahead.counters.dropped).toBeGreaterThan(0);
    expect(plain.counters.launched).toBe(0);
  });
  it('after warmUp, requests of other lengths, sampled and side by side, build no kernel', async (context) => {
    const backend = webGpu(context);
    const expected = readExpected();
    const scheduler = await loadScheduler(`${FIXTURES}llama`, { backend, contextLength: 200, parallel: 4 });
    expect(await scheduler.warmUp()).toBe(13 + 2 + 4);
    // The warm-up is forgotten: no request counted, no page held by the prefix cache.
    expect(scheduler.metrics).toMatchObject({ requests: 0, promptTokens: 0, usedPages: 0 });
    const built = backend.runtime.pipelines.size;
    const ids = expected.input_ids;
    const requests = [
      scheduler.submit([...ids, ...ids, ...ids].slice(0, 30), { maxTokens: 3, ignoreEndOfGeneration: true }),
      scheduler.submit(ids.slice(0, 11), { maxTokens: 3, ignoreEndOfGeneration: true }),
      scheduler.submit(ids.slice(3, 23), { maxTokens: 3, temperature: 0.7, topK: 40, topP: 0.9, seed: 3 }),
    ];
    for (const request of requests) await request.result;
    const alone = scheduler.submit(ids.slice(2, 9), { maxTokens: 3, ignoreEndOfGeneration: true });
    expect((await alone.result).tokens).toHaveLength(3);
    expect(
      backend.runtime.pipelines
        .manifest()
        .slice(built)
        .map((entry) => entry.key),
    ).toEqual([]);
    await scheduler.close();
  });
});
