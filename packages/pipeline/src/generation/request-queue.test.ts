import { createCpuBackend } from '@strata/kernels-cpu';
import type { CompleteModel } from '@strata/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../engine/engine.js';
import { createByteTokenizer, createToyModel } from '../testing/toy-model.js';
import { TextPipeline } from '../text-pipeline.js';

const backend = createCpuBackend();
const tokenizer = createByteTokenizer();
const OPTIONS = { maxTokens: 40, ignoreEndOfGeneration: true } as const;
let model: CompleteModel;

beforeAll(async () => {
  model = await createToyModel(backend);
});

function pipeline(): TextPipeline {
  return TextPipeline.fromParts({ model, backend, tokenizer, contextLength: 64, chunkSize: 8 });
}

/** Rejects when `promise` has not settled within `milliseconds` (a deadlock shows as this rejection, not a hang). */
function within<T>(promise: Promise<T>, milliseconds = 3000): Promise<T> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`still pending after ${milliseconds} ms`)), milliseconds);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

describe('the request queue never stays locked', () => {
  it('a dropped iterator (no return()) whose signal is aborted leaves the pipeline usable', async () => {
    const text = pipeline();
    const controller = new AbortController();
    const dropped = text.generate('abc', { ...OPTIONS, signal: controller.signal });
    const iterator = dropped[Symbol.asyncIterator]();
    await iterator.next(); // read one delta, then forget the iterator without return()
    controller.abort();
    expect((await within(dropped.result)).finishReason).toBe('aborted');
    const next = await within(text.generate('abc', { maxTokens: 3, ignoreEndOfGeneration: true }).result);
    expect(next.tokens).toHaveLength(3);
    expect(text.pendingRequests).toBe(0);
  });

  it('the same through an Engine model', async () => {
    const engine = new Engine().add('toy', pipeline());
    const controller = new AbortController();
    const dropped = engine.submit({ model: 'toy', prompt: 'abc', ...OPTIONS, signal: controller.signal });
    await dropped[Symbol.asyncIterator]().next();
    controller.abort();
    const next = engine.submit({ model: 'toy', prompt: 'xyz', maxTokens: 2, ignoreEndOfGeneration: true });
    expect((await within(next.result)).tokens).toHaveLength(2);
    expect(engine.list()[0]!.pendingRequests).toBe(0);
    await engine.dispose();
  });

  it('two generations of one pipeline read in lock-step both finish', async () => {
    const text = pipeline();
    const a = text.generate('first', { maxTokens: 4, ignoreEndOfGeneration: true })[Symbol.asyncIterator]();
    const b = text.generate('second', { maxTokens: 4, ignoreEndOfGeneration: true })[Symbol.asyncIterator]();
    const tokens: [number[], number[]] = [[], []];
    for (let step = 0; step < 6; step++) {
      const [deltaA, deltaB] = await within(Promise.all([a.next(), b.next()]));
      if (deltaA.done !== true && deltaA.value.token !== undefined) tokens[0].push(deltaA.value.token);
      if (deltaB.done !== true && deltaB.value.token !== undefined) tokens[1].push(deltaB.value.token);
    }
    expect(tokens[0]).toHaveLength(4);
    expect(tokens[1]).toHaveLength(4);
    const alone = await pipeline().generate('second', { maxTokens: 4, ignoreEndOfGeneration: true }).result;
    expect(tokens[1]).toEqual(alone.tokens);
  });

  it('an abort takes effect without the consumer pulling another step', async () => {
    const text = pipeline();
    const controller = new AbortController();
    const generation = text.generate('abc', { ...OPTIONS, signal: controller.signal });
    const iterator = generation[Symbol.asyncIterator]();
    await iterator.next();
    controller.abort(); // and never call next() again
    const result = await within(generation.result);
    expect(result.finishReason).toBe('aborted');
    expect(result.tokens.length).toBeLessThan(OPTIONS.maxTokens);
  });

  it('a queued generation aborted before its turn ends at once, with nothing computed', async () => {
    const text = pipeline();
    const first = text.generate('abc', OPTIONS);
    const controller = new AbortController();
    const queued = text.generate('xyz', { ...OPTIONS, signal: controller.signal });
    controller.abort();
    const result = await within(queued.result);
    expect(result).toMatchObject({ finishReason: 'aborted', tokens: [] });
    expect((await first.result).tokens).toHaveLength(OPTIONS.maxTokens);
  });

  it('a consumer that stops pulling does not block the requests behind it', async () => {
    const text = pipeline();
    const stalled = text.generate('abc', OPTIONS);
    await stalled[Symbol.asyncIterator]().next(); // reads one delta and never another
    const behind = await within(text.generate('xyz', { maxTokens: 3, ignoreEndOfGeneration: true }).result);
    expect(behind.tokens).toHaveLength(3);
    // The stalled generation ran to its end on its own; its unread deltas are still there for a later reader.
    expect((await stalled.result).finishReason).toBe('max-tokens');
  });

  it('a consumer that keeps up sees every step before the next runs, so an abort stops exactly there', async () => {
    const text = pipeline();
    const controller = new AbortController();
    const generation = text.generate('abc', { ...OPTIONS, signal: controller.signal });
    let seen = 0;
    for await (const delta of generation) {
      if (delta.token !== undefined) seen++;
      if (seen === 3) controller.abort();
    }
    expect((await generation.result).tokens).toHaveLength(3);
  });

  it('runs without anyone iterating; deltas wait for a late reader unless result was asked for first', async () => {
    const text = pipeline();
    const resultOnly = text.generate('abc', { maxTokens: 5, ignoreEndOfGeneration: true });
    expect((await resultOnly.result).tokens).toHaveLength(5);
    expect(() => resultOnly[Symbol.asyncIterator]()).toThrow(/iterate first/);
    const readLater = text.generate('abc', { maxTokens: 5, ignoreEndOfGeneration: true });
    await new Promise((resolve) => setTimeout(resolve, 50));
    const tokens: number[] = [];
    for await (const delta of readLater) if (delta.token !== undefined) tokens.push(delta.token);
    expect(tokens).toEqual((await readLater.result).tokens);
  });
});
