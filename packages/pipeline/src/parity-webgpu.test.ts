import { readFileSync } from 'node:fs';
import { createCpuBackend } from '@strata/kernels-cpu';
import { describe, expect, it, vi } from 'vitest';
import { allocateLayerCaches, disposeLayerCaches } from './cache/layer-caches.js';
import { loadTextPipeline } from './load/load-text-pipeline.js';
import type { CacheType } from './text-pipeline.js';
import { useWebGpuBackend } from './testing/webgpu-backend.js';

// Greedy parity through the pipeline on WebGPU (lavapipe in CI), kept small: lavapipe is a CPU Vulkan. Skips, saying
// why, only when Dawn finds no adapter; STRATA_REQUIRE_WEBGPU=1 turns that into a failure.
const FIXTURES = new URL('../../../../shared/fixtures/models/', import.meta.url).pathname;
const webGpu = useWebGpuBackend();

const CASES = [
  ['llama safetensors', 'llama', 'llama/expected.json'],
  ['mistral-swa safetensors (window 8 in a ring buffer)', 'mistral-swa', 'mistral-swa/expected.json'],
] as const;

describe('greedy parity on WebGPU', () => {
  it.for(CASES)('%s', async ([, model, referencePath], context) => {
    const backend = webGpu(context);
    const expected = JSON.parse(readFileSync(`${FIXTURES}${referencePath}`, 'utf8')) as {
      input_ids: number[];
      greedy_new_tokens: number[];
    };
    const pipeline = await loadTextPipeline(`${FIXTURES}${model}`, { backend, contextLength: 40, chunkSize: 6 });
    const result = await pipeline.generate(expected.input_ids, {
      maxTokens: expected.greedy_new_tokens.length,
      ignoreEndOfGeneration: true,
    }).result;
    await pipeline.dispose();
    expect(result.tokens).toEqual(expected.greedy_new_tokens);
  });

  it("mistral-swa f32 GGUF with an f16 cache gives llama.cpp's tokens exactly", async (context) => {
    const backend = webGpu(context);
    const expected = JSON.parse(readFileSync(`${FIXTURES}mistral-swa/expected-llamacpp-f32.json`, 'utf8')) as {
      input_ids: number[];
      greedy_new_tokens: number[];
    };
    const pipeline = await loadTextPipeline(`${FIXTURES}mistral-swa/model-f32.gguf`, {
      backend,
      contextLength: 40,
      chunkSize: 6,
      cacheType: 'f16',
    });
    const result = await pipeline.generate(expected.input_ids, {
      maxTokens: expected.greedy_new_tokens.length,
      ignoreEndOfGeneration: true,
    }).result;
    await pipeline.dispose();
    expect(result.tokens).toEqual(expected.greedy_new_tokens);
  });

  it('seeded sampling with every filter and a penalty picks the same tokens as on the CPU', async (context) => {
    const backend = webGpu(context);
    const options = {
      maxTokens: 12,
      temperature: 0.9,
      topK: 40,
      topP: 0.95,
      minP: 0.05,
      repetitionPenalty: 1.1,
      seed: 7,
    };
    const tokens: (readonly number[])[] = [];
    for (const on of [backend, createCpuBackend()]) {
      const pipeline = await loadTextPipeline(`${FIXTURES}qwen3`, { backend: on, contextLength: 40 });
      tokens.push((await pipeline.generate('hello world', { ...options, ignoreEndOfGeneration: true }).result).tokens);
      await pipeline.dispose();
    }
    expect(tokens[0]).toEqual(tokens[1]);
  });

  // Decode replays one captured plan at every position: gemma2 alternates sliding-window (ring buffer, wraps here) and
  // global layers with softcapping; qwen3 has QK norms. The plan must give the eager path's logits at every step.
  it.for(['gemma2', 'qwen3'])(
    'captured decode of %s gives the eager logits at every position',
    async (model, context) => {
      const backend = webGpu(context);
      const capture = vi.spyOn(backend, 'captureStep');
      const runs: { tokens: readonly number[]; logits: Float32Array[] }[] = [];
      for (const capturedDecode of [true, false]) {
        const pipeline = await loadTextPipeline(`${FIXTURES}${model}`, {
          backend,
          contextLength: 40,
          chunkSize: 6,
          capturedDecode,
        });
        const logits: Float32Array[] = [];
        const generation = pipeline.generate('the quick brown fox jumps', {
          maxTokens: 20,
          ignoreEndOfGeneration: true,
          returnLogits: true,
        });
        for await (const delta of generation) if (delta.logits !== undefined) logits.push(delta.logits);
        runs.push({ tokens: (await generation.result).tokens, logits });
        await pipeline.dispose();
      }
      expect(capture).toHaveBeenCalledTimes(1);
      capture.mockRestore();
      const [captured, eager] = runs as [(typeof runs)[0], (typeof runs)[0]];
      expect(captured.tokens).toEqual(eager.tokens);
      expect(captured.logits.length).toBe(20);
      let largest = 0;
      captured.logits.forEach((row, step) => {
        eager.logits[step]!.forEach((value, index) => {
          largest = Math.max(largest, Math.abs(value - row[index]!));
        });
      });
      expect(largest).toBeLessThan(1e-4);
    },
  );

  // quant-base has heads of 64, so q8_0 applies: prefill (chunks of 6) and captured decode read the quantized cache.
  // (The first WebGPU test of a model of its size: about a minute of shader compilation on a cold lavapipe.)
  it('quant-base with a q8_0 cache gives the greedy tokens and logits of the CPU reference with a q8_0 cache', async (context) => {
    const expected = JSON.parse(readFileSync(`${FIXTURES}quant-base/expected.json`, 'utf8')) as { input_ids: number[] };
    const runs: { tokens: readonly number[]; logits: Float32Array[] }[] = [];
    for (const on of [webGpu(context), createCpuBackend()]) {
      const options = { backend: on, contextLength: 40, chunkSize: 6, cacheType: 'q8_0' } as const;
      const pipeline = await loadTextPipeline(`${FIXTURES}quant-base`, options);
      const generation = pipeline.generate(expected.input_ids.slice(0, 12), {
        maxTokens: 4,
        ignoreEndOfGeneration: true,
        returnLogits: true,
      });
      const logits: Float32Array[] = [];
      for await (const delta of generation) if (delta.logits !== undefined) logits.push(delta.logits);
      runs.push({ tokens: (await generation.result).tokens, logits });
      await pipeline.dispose();
    }
    const [gpu, cpu] = runs as [(typeof runs)[0], (typeof runs)[0]];
    expect(gpu.tokens).toEqual(cpu.tokens);
    let largest = 0;
    gpu.logits.forEach((row, step) => {
      row.forEach((value, index) => {
        largest = Math.max(largest, Math.abs(value - cpu.logits[step]![index]!));
      });
    });
    // Keys and values agree to f32 rounding, so do their quants but for a value within that rounding of a quant
    // boundary (one such flip would move a logit by about 1e-2 here); measured on lavapipe: 8e-6.
    expect(largest).toBeLessThan(1e-2);
  });

  it('an f16 KV cache takes half the bytes of an f32 one and q8_0 34/128, on WebGPU and the CPU alike', async (context) => {
    const backend = webGpu(context);
    const specs = [
      { keyValueWidth: 256, headDimensions: 64 },
      { keyValueWidth: 256, headDimensions: 64, window: 8 },
    ];
    const bytes = (on: Parameters<typeof allocateLayerCaches>[0], type: CacheType) => {
      const caches = allocateLayerCaches(on, specs, 64, 4, type);
      disposeLayerCaches(on, caches);
      return caches.byteLength;
    };
    expect(bytes(backend, 'f32')).toBe(2 * 4 * 256 * (64 + 11));
    expect(bytes(backend, 'f16')).toBe(bytes(backend, 'f32') / 2);
    expect(bytes(backend, 'q8_0')).toBe((bytes(backend, 'f32') * 34) / 128);
    const cpu = createCpuBackend();
    expect(bytes(cpu, 'f32')).toBe(bytes(backend, 'f32'));
    expect(bytes(cpu, 'f16')).toBe(bytes(backend, 'f16'));
    expect(bytes(cpu, 'q8_0')).toBe(bytes(backend, 'q8_0'));
  });
});

describe('decoding ahead on WebGPU', () => {
  // A greedy step starts the next one on the device before its token is read. Stopping early leaves a guessed step
  // behind: the next generation (a new prompt of the same length, so positions line up) must not reuse it.
  it('gives the tokens of plain captured decoding, across generations that stop early', async (context) => {
    const backend = webGpu(context);
    const runs: number[][][] = [];
    const choices: number[] = [];
    for (const decodeAhead of [true, false]) {
      const argmax = vi.spyOn(backend, 'argmax');
      const pipeline = await loadTextPipeline(`${FIXTURES}llama`, { backend, contextLength: 40, decodeAhead });
      const tokens: number[][] = [];
      for (const [prompt, maxTokens] of [
        [[1, 45, 96, 173], 3],
        [[1, 251, 63, 28], 9],
        [[1, 45, 96, 173], 12],
      ] as const) {
        const generation = pipeline.generate([...prompt], { maxTokens, ignoreEndOfGeneration: true, temperature: 0 });
        tokens.push([...(await generation.result).tokens]);
      }
      runs.push(tokens);
      await pipeline.dispose();
      choices.push(argmax.mock.calls.length);
      argmax.mockRestore();
    }
    expect(runs[0]).toEqual(runs[1]);
    expect(runs[0]!.map((tokens) => tokens.length)).toEqual([3, 9, 12]);
    // Ahead, each generation chose one token more on the device (the guess its end left behind).
    expect(choices[0]).toBe(choices[1]! + 3);
  });
});
