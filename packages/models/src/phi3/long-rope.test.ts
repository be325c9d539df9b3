import { readFileSync } from 'node:fs';
import { createCpuBackend } from '@strata/kernels-cpu';
import { bytesSource, ggufValue, type ModelFiles, openModel, sourcesDirectory } from '@strata/loaders';
import { openModelFiles } from '@strata/loaders/node';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../load-model.js';
import { forwardLogits } from '../builder/forward-logits.js';
import { rewriteGguf } from '../testing/rewrite-gguf.js';

// The phi3 fixture, extended to 1024 positions from its original 256 with LongRoPE factors: once as config.json
// `rope_scaling` (parsed by the config reader), once as llama.cpp's GGUF factor tensors (picked by the family).
const fixture = '../shared/fixtures/models/phi3';
const SHORT = [1, 1.25, 1.5, 2, 3, 4, 6, 8];
const LONG = [1, 2, 4, 8, 16, 24, 32, 48];
const EXTENDED = 1024;

function floatBytes(values: readonly number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

function extendedGguf(): Promise<ModelFiles> {
  return rewriteGguf(`${fixture}/model-f32.gguf`, {
    metadata: (entries) =>
      entries.map(([key, value]) => [key, key === 'phi3.context_length' ? ggufValue.u32(EXTENDED) : value]),
    tensors: (tensors) => [
      ...tensors,
      { name: 'rope_factors_long.weight', type: 'F32', shape: [LONG.length], data: floatBytes(LONG) },
      { name: 'rope_factors_short.weight', type: 'F32', shape: [SHORT.length], data: floatBytes(SHORT) },
    ],
  });
}

async function extendedHuggingFace(): Promise<ModelFiles> {
  const config = JSON.parse(readFileSync(`${fixture}/config.json`, 'utf8'));
  config.max_position_embeddings = EXTENDED;
  config.original_max_position_embeddings = 256;
  config.rope_parameters = { rope_type: 'longrope', rope_theta: 10000, short_factor: SHORT, long_factor: LONG };
  return openModel(
    sourcesDirectory({
      'config.json': bytesSource(new TextEncoder().encode(JSON.stringify(config))),
      'model.safetensors': bytesSource(readFileSync(`${fixture}/model.safetensors`)),
    }),
  );
}

function maximumDifference(left: readonly Float32Array[], right: readonly Float32Array[]): number {
  let maximum = 0;
  left.forEach((row, position) => {
    const other = right[position] as Float32Array;
    for (let index = 0; index < row.length; index++)
      maximum = Math.max(maximum, Math.abs((row[index] as number) - (other[index] as number)));
  });
  return maximum;
}

describe('phi3 LongRoPE', () => {
  it('uses the GGUF factor tensors as config.json rope_scaling does: long beyond the original context, short within', async () => {
    const backend = createCpuBackend();
    const ids: number[] = JSON.parse(readFileSync(`${fixture}/expected.json`, 'utf8')).input_ids;
    const gguf = await extendedGguf();
    const huggingFace = await extendedHuggingFace();
    const run = async (files: ModelFiles, contextLength?: number) =>
      forwardLogits(
        await loadModel(files, backend, contextLength === undefined ? {} : { contextLength }),
        backend,
        ids,
      );
    const plain = await run(await openModelFiles(`${fixture}/model-f32.gguf`));
    const longGguf = await run(gguf);
    const longHuggingFace = await run(huggingFace);
    const shortGguf = await run(gguf, 256);
    const shortHuggingFace = await run(huggingFace, 256);

    expect(maximumDifference(longGguf, longHuggingFace)).toBeLessThan(1e-4);
    expect(maximumDifference(shortGguf, shortHuggingFace)).toBeLessThan(1e-4);
    // The factors matter, and the two sets differ: neither run reproduces the plain model or the other.
    expect(maximumDifference(longGguf, plain)).toBeGreaterThan(1e-2);
    expect(maximumDifference(shortGguf, plain)).toBeGreaterThan(1e-2);
    expect(maximumDifference(longGguf, shortGguf)).toBeGreaterThan(1e-2);
  });
});
