import { createCpuBackend } from '@strata/kernels-cpu';
import type { CompleteModel } from '@strata/models';
import { beforeAll, describe, expect, it } from 'vitest';
import { createByteTokenizer, createToyModel } from '../testing/toy-model.js';
import { TextPipeline } from '../text-pipeline.js';
import { LocalExecutor } from './local-executor.js';

const backend = createCpuBackend();
const tokenizer = createByteTokenizer();
const PROMPT = [256, 72, 105, 33, 32, 104, 101, 108, 108, 111];
let model: CompleteModel;

beforeAll(async () => {
  model = await createToyModel(backend);
});

/** The greedy token after `sequence`, computed from scratch (no cache reuse). */
async function nextGreedy(sequence: readonly number[]): Promise<number> {
  const executor = new LocalExecutor(model, backend, { contextLength: 64, chunkSize: 64 });
  const { token } = await executor.forward({
    ids: Int32Array.from(sequence),
    firstPosition: 0,
    choice: { kind: 'greedy' },
  });
  await executor.dispose();
  return token!;
}

describe('contextShift: generation goes on when the context fills', () => {
  it('keeps the first tokens, drops the older half of the rest, and continues as if from the shifted text', async () => {
    const contextLength = 24;
    const keep = 4;
    const pipeline = TextPipeline.fromParts({ model, backend, tokenizer, contextLength, chunkSize: 8 });
    const options = { maxTokens: 40, ignoreEndOfGeneration: true } as const;
    const full = await pipeline.generate(PROMPT, options).result;
    expect(full.finishReason).toBe('context-full');
    const shifted = await pipeline.generate(PROMPT, { ...options, contextShift: { keep } }).result;
    expect(shifted.finishReason).toBe('max-tokens');
    expect(shifted.tokens).toHaveLength(40);
    // Up to the full context both agree.
    const before = contextLength - PROMPT.length + 1;
    expect(shifted.tokens.slice(0, before)).toEqual(full.tokens.slice(0, before));
    // The first shift: the cache held 24 tokens; keep 4, drop (24 − 4) / 2 = 10, keep the last 10; then the pending
    // token, whose successor is the greedy choice after that shifted text.
    const text = [...PROMPT, ...shifted.tokens];
    const afterShift = [...text.slice(0, keep), ...text.slice(keep + 10, contextLength), text[contextLength]!];
    expect(shifted.tokens[before]).toBe(await nextGreedy(afterShift));
  });

  it('rejects a keep that leaves no room', () => {
    const pipeline = TextPipeline.fromParts({ model, backend, tokenizer, contextLength: 24, chunkSize: 8 });
    expect(() => pipeline.generate(PROMPT, { contextShift: { keep: 23 } })).toThrow(
      expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
    );
  });
});
