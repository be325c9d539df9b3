import { readFileSync } from 'node:fs';
import { type Backend, type KeyValueCache, StrataError, type Tensor } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { openModelFiles } from '@strata/loaders/node';
import { type CompleteModel, loadModel } from '@strata/models';
import { describe, expect, it } from 'vitest';
import { LocalExecutor } from '../generation/local-executor.js';
import type { TokenLogprob } from '../generation/types.js';
import { loadTextPipeline } from '../load/load-text-pipeline.js';
import type { CacheType } from '../text-pipeline.js';
import { allocateLayerCaches, disposeLayerCaches } from './layer-caches.js';

// The KV cache types through the pipeline on the CPU reference: quant-base (heads of 64, so q8_0 applies) run with an
// f32, f16 and q8_0 cache along the same tokens, and the bytes each cache type allocates per token.
const FIXTURES = new URL('../../../../../shared/fixtures/models/', import.meta.url).pathname;
const QUANT_BASE = `${FIXTURES}quant-base`;
const CONTEXT = 64;

interface Reference {
  readonly input_ids: number[];
  readonly greedy_new_tokens: number[];
}

const reference = JSON.parse(readFileSync(`${QUANT_BASE}/expected.json`, 'utf8')) as Reference;

/** The nearest f16 value of a non-negative `value` below 65520 (ties to even), from its binade's step. */
function roundToHalf(value: number): number {
  if (value === 0) return 0;
  let exponent = Math.floor(Math.log2(value));
  if (2 ** exponent > value) exponent--;
  else if (2 ** (exponent + 1) <= value) exponent++;
  const step = 2 ** (Math.max(-14, exponent) - 10);
  const scaled = value / step;
  const below = Math.floor(scaled);
  const rest = scaled - below;
  return (rest > 0.5 || (rest === 0.5 && below % 2 === 1) ? below + 1 : below) * step;
}

/**
 * Keys or values after a q8_0 round trip, computed here from the format's definition (`KeyValueCache.precision`):
 * per block of 32, d = f16(fl32(amax · fl32(1/127))), q = round(x / d) halves away from zero, within ±127.
 */
function q8RoundTrip(data: Float32Array): Float32Array {
  const output = new Float32Array(data.length);
  for (let first = 0; first < data.length; first += 32) {
    const block = data.subarray(first, first + 32);
    const amax = Math.max(...Array.from(block, Math.abs));
    const scale = roundToHalf(Math.fround(amax * Math.fround(1 / 127)));
    block.forEach((value, index) => {
      const quotient = scale === 0 ? 0 : value / scale;
      const quant = Math.max(-127, Math.min(127, Math.sign(quotient) * Math.floor(Math.abs(quotient) + 0.5)));
      output[first + index] = quant * scale;
    });
  }
  return output;
}

/**
 * A CPU backend whose cache writes store `q8RoundTrip` of the keys and values in plain f32 caches: an independent
 * model of a q8_0 cache. (The CPU backend's tensors are host arrays, read here synchronously from their storage.)
 */
function simulatedQ8Backend(): Backend {
  const inner = createCpuBackend();
  const hostData = (tensor: Tensor) => (tensor as unknown as { storage: { data: Float32Array } }).storage.data;
  const write = (cache: KeyValueCache, keys: Tensor, values: Tensor, firstPosition: number) => {
    const rounded = [keys, values].map((tensor) => inner.upload(q8RoundTrip(hostData(tensor)), tensor.shape));
    inner.writeKeyValues(cache, rounded[0]!, rounded[1]!, firstPosition);
    for (const tensor of rounded) inner.dispose(tensor);
  };
  const overrides: Partial<Backend> = {
    writeKeyValues: write,
    ropeAndWriteKeyValues: (queries, keys, values, cache, firstPosition, parameters) => {
      const rotated = inner.rope(keys, firstPosition, parameters);
      write(cache, rotated, values, firstPosition);
      inner.dispose(rotated);
      return inner.rope(queries, firstPosition, parameters);
    },
  };
  return new Proxy(inner, {
    get(target, key) {
      const member = (overrides as Record<PropertyKey, unknown>)[key] ?? Reflect.get(target, key, target);
      return typeof member === 'function' ? member.bind(target) : member;
    },
  });
}

/**
 * Logits along the reference's prompt and greedy continuation with a cache of `cacheType`: the prompt prefilled in
 * chunks of 8 (the last row's logits of each), then one decode step per continuation token.
 */
async function logitsAlong(
  model: CompleteModel,
  cacheType: CacheType,
  backend: Backend = createCpuBackend(),
): Promise<Float32Array[]> {
  const executor = new LocalExecutor(model, backend, { contextLength: CONTEXT, chunkSize: 8, cacheType });
  const rows: Float32Array[] = [];
  const prompt = reference.input_ids;
  for (let first = 0; first < prompt.length; first += 8) {
    const ids = Int32Array.from(prompt.slice(first, first + 8));
    rows.push((await executor.forward({ ids, firstPosition: first, returnLogits: true })).logits!);
  }
  for (const [step, token] of reference.greedy_new_tokens.entries()) {
    const request = { ids: Int32Array.of(token), firstPosition: prompt.length + step, returnLogits: true };
    rows.push((await executor.forward(request)).logits!);
  }
  await executor.dispose();
  return rows;
}

/** The largest and the mean absolute difference between two lists of logit rows. */
function differences(a: readonly Float32Array[], b: readonly Float32Array[]): { largest: number; mean: number } {
  let largest = 0;
  let total = 0;
  let count = 0;
  a.forEach((row, index) => {
    row.forEach((value, column) => {
      const difference = Math.abs(value - b[index]![column]!);
      largest = Math.max(largest, difference);
      total += difference;
      count++;
    });
  });
  return { largest, mean: total / count };
}

/** Greedy tokens of quant-base from the reference prompt with a cache of `cacheType`, and each step's best two. */
async function greedy(cacheType: CacheType): Promise<{ tokens: readonly number[]; top: (readonly TokenLogprob[])[] }> {
  const options = { backend: createCpuBackend(), contextLength: CONTEXT, chunkSize: 5, cacheType };
  const pipeline = await loadTextPipeline(QUANT_BASE, options);
  const generation = pipeline.generate(reference.input_ids, {
    maxTokens: reference.greedy_new_tokens.length,
    ignoreEndOfGeneration: true,
    logprobs: 2,
  });
  const top: (readonly TokenLogprob[])[] = [];
  for await (const delta of generation) if (delta.topLogprobs !== undefined) top.push(delta.topLogprobs);
  const { tokens } = await generation.result;
  await pipeline.dispose();
  return { tokens, top };
}

describe('KV cache types (CPU backend)', () => {
  it('a q8_0 cache keeps the logits of quant-base close to the f32 cache ones, prefill and decode', async () => {
    const model = await loadModel(await openModelFiles(QUANT_BASE), createCpuBackend());
    const exact = await logitsAlong(model, 'f32');
    const half = await logitsAlong(model, 'f16');
    const quantized = await logitsAlong(model, 'q8_0');
    model.dispose();
    expect(quantized).toHaveLength(reference.input_ids.length / 8 + reference.greedy_new_tokens.length);
    // The q8_0 cache gives exactly the logits of f32 caches fed with independently round-tripped keys and values.
    const simulating = simulatedQ8Backend();
    const simulatedModel = await loadModel(await openModelFiles(QUANT_BASE), simulating);
    const simulated = await logitsAlong(simulatedModel, 'f32', simulating);
    simulatedModel.dispose();
    expect(differences(quantized, simulated).largest).toBeLessThanOrEqual(1e-6);
    // Against the f32 cache: q8_0 moves each key and value by up to d/2 = amax/254 of its block of 32 (an f16 cache
    // by 2^-11 of the value), so its logits move far more than f16's. The bound is the fixtures README's sanity bound
    // for the same quantization applied to activations (llama.cpp's q8 blocks in its dot products), which moves
    // quant-base's logits (std ≈ 3.3) by ≈ 0.1 on average and ≤ 2 at most: ≤ 2 at most, and ≤ 0.15 on average (0.1
    // and half again). Measured: 0.76 at most, 0.09 on average; the f16 cache 0.046 and 0.004.
    const q8 = differences(quantized, exact);
    const f16 = differences(half, exact);
    expect(q8.mean).toBeLessThan(0.15);
    expect(q8.largest).toBeLessThan(2);
    expect(q8.largest).toBeGreaterThan(10 * f16.largest);
    expect(f16.largest).toBeGreaterThan(0);
  });

  it('a pipeline with a q8_0 cache generates the f32 path greedy tokens up to a near-tie', async () => {
    const exact = await greedy('f32');
    expect(exact.tokens).toEqual(reference.greedy_new_tokens);
    const quantized = await greedy('q8_0');
    expect(quantized.tokens).toHaveLength(reference.greedy_new_tokens.length);
    // The tokens agree until a step whose best two logits on the f32 path are closer than the q8_0 error above (there
    // the q8_0 path takes the runner-up); after that the two continue from different tokens.
    const diverge = quantized.tokens.findIndex((token, step) => token !== exact.tokens[step]);
    if (diverge >= 0) {
      const [best, second] = exact.top[diverge]!;
      expect(second!.token).toBe(quantized.tokens[diverge]);
      expect(best!.logprob - second!.logprob).toBeLessThan(0.1);
    }
  });

  it('measures the bytes per token of each cache type: f16 half of f32 (halves), q8_0 34/128 of f32', async () => {
    const backend = createCpuBackend();
    const model = await loadModel(await openModelFiles(QUANT_BASE), backend);
    const perToken = (cacheType: CacheType) => {
      const executor = new LocalExecutor(model, backend, { contextLength: CONTEXT, chunkSize: 8, cacheType });
      const bytes = executor.cacheByteLength;
      void executor.dispose();
      return bytes / CONTEXT;
    };
    // quant-base: 2 layers, 2 KV heads of 64.
    expect(perToken('f32')).toBe(2 * 2 * 128 * 4);
    expect(perToken('f16')).toBe(perToken('f32') / 2);
    expect(perToken('q8_0') / perToken('f32')).toBe(34 / 128);
    model.dispose();
    // llama-3.2-1b's cache shape: 16 layers, 8 KV heads of 64.
    const specs = Array.from({ length: 16 }, () => ({ keyValueWidth: 8 * 64, headDimensions: 64 }));
    const shapePerToken = (cacheType: CacheType) => {
      const caches = allocateLayerCaches(backend, specs, 16, 16, cacheType);
      disposeLayerCaches(backend, caches);
      return caches.byteLength / 16;
    };
    expect(shapePerToken('f32')).toBe(16 * 2 * 512 * 4);
    expect(shapePerToken('f16')).toBe(shapePerToken('f32') / 2);
    expect(shapePerToken('q8_0') / shapePerToken('f32')).toBe(34 / 128);
  });

  it('rejects q8_0 for heads that are not a multiple of 32 with INVALID_ARGUMENT naming the cache types that fit', async () => {
    const options = { backend: createCpuBackend(), contextLength: CONTEXT, cacheType: 'q8_0' } as const;
    await expect(loadTextPipeline(`${FIXTURES}llama`, options)).rejects.toSatisfy(
      (error: unknown) =>
        StrataError.isInstance(error, 'INVALID_ARGUMENT') && /16 dimensions; use cacheType 'f16'/.test(error.message),
    );
  });
});
