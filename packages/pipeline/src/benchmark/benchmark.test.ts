import { createCpuBackend } from '@strata/kernels-cpu';
import { describe, expect, it, vi } from 'vitest';
import { loadTextPipeline } from '../load/load-text-pipeline.js';
import { benchmarkPipeline } from './benchmark.js';

const LLAMA = new URL('../../../../../shared/fixtures/models/llama', import.meta.url).pathname;

describe('benchmarkPipeline', () => {
  it('decodes tg at the requested depth: the prompt holds depth tokens, then generatedTokens steps', async () => {
    const pipeline = await loadTextPipeline(LLAMA, { backend: createCpuBackend(), contextLength: 48 });
    const generate = vi.spyOn(pipeline, 'generate');
    const result = await benchmarkPipeline(pipeline, {
      promptTokens: 0,
      generatedTokens: 4,
      repetitions: 2,
      depth: 20,
    });
    expect(result.pp).toBeUndefined();
    expect(result.tg?.tokensPerSecond.samples).toHaveLength(2);
    // One warm-up and two measured runs, each a prompt of `depth` tokens and 4 + 1 generated tokens.
    expect(generate).toHaveBeenCalledTimes(3);
    for (const [prompt, options] of generate.mock.calls) {
      expect((prompt as number[]).length).toBe(20);
      expect(options?.maxTokens).toBe(5);
    }
    await expect(
      benchmarkPipeline(pipeline, { promptTokens: 0, generatedTokens: 4, repetitions: 1, depth: 44 }),
    ).rejects.toMatchObject({ code: 'CONTEXT_OVERFLOW' });
    await expect(
      benchmarkPipeline(pipeline, { promptTokens: 0, generatedTokens: 4, repetitions: 1, depth: -1 }),
    ).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await pipeline.dispose();
  });
});
