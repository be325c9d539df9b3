import { readFileSync } from 'node:fs';
import { type Backend, StrataError, type Tensor } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { openModelFiles } from '@strata/loaders/node';
import { TransformerBlock } from '@strata/primitives';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../load-model.js';
import { llama } from '../llama/index.js';
import { DEFAULT_FAMILIES } from '../registry/default-registry.js';
import { FamilyRegistry } from '../registry/family-registry.js';
import { defineFamily } from '../registry/model-family.js';
import { forwardLogits } from './forward-logits.js';
import type { TransformerConfig } from '../config/transformer-config.js';
import { assembleTransformer } from './transformer-model.js';

const fixtures = '../shared/fixtures/models';

describe('loadModel with a layer range', () => {
  it('gives the first part embed and no lmHead, the last part lmHead and no embed, and their chain equals the model', async () => {
    const backend = createCpuBackend();
    const files = await openModelFiles(`${fixtures}/qwen3`);
    const first = await loadModel(files, backend, { layerRange: { start: 0, end: 1 } });
    const last = await loadModel(files, backend, { layerRange: { start: 1, end: 2 } });
    expect(first.part).toBe('first');
    expect(last.part).toBe('last');
    expect('lmHead' in first).toBe(false);
    expect('embed' in last).toBe(false);
    if (first.part !== 'first' || last.part !== 'last') throw new Error('unexpected parts');
    // @ts-expect-error a first stage has no lmHead in its type
    first.lmHead;
    // @ts-expect-error a last stage has no embed in its type
    last.embed;
    expect(first.cacheSpecs).toHaveLength(1);

    const expected = JSON.parse(readFileSync(`${fixtures}/qwen3/expected.json`, 'utf8'));
    const ids: number[] = expected.input_ids;
    const cache = () => ({ keys: backend.zeros([ids.length, 32]), values: backend.zeros([ids.length, 32]) });
    const hidden = first.transform(first.embed(backend.upload(Int32Array.from(ids), [ids.length])), {
      backend,
      firstPosition: 0,
      caches: [cache()],
    });
    const logits = (await backend.read(
      last.lmHead(last.transform(hidden, { backend, firstPosition: 0, caches: [cache()] })),
    )) as Float32Array;
    const complete = await forwardLogits(await loadModel(files, backend), backend, ids);
    const vocabulary = last.vocabularySize;
    complete.forEach((row, position) => {
      expect(Array.from(logits.subarray(position * vocabulary, (position + 1) * vocabulary))).toEqual(Array.from(row));
    });
  });

  it('gives a middle part neither embed nor lmHead', () => {
    const backend = createCpuBackend();
    const config = { layerCount: 3, hiddenSize: 8 } as TransformerConfig;
    const middle = assembleTransformer({
      config,
      backend,
      layerRange: { start: 1, end: 2 },
      blocks: [],
      embedding: undefined,
      head: undefined,
      dispose: () => {},
    });
    expect(middle.part).toBe('middle');
    expect('embed' in middle || 'lmHead' in middle).toBe(false);
  });

  it('rejects empty or out-of-bounds ranges with INVALID_ARGUMENT', async () => {
    const backend = createCpuBackend();
    const files = await openModelFiles(`${fixtures}/qwen2/model-f32.gguf`);
    for (const layerRange of [
      { start: 1, end: 1 },
      { start: 0, end: 3 },
      { start: -1, end: 1 },
    ]) {
      await expect(loadModel(files, backend, { layerRange })).rejects.toSatisfy((error) =>
        StrataError.isInstance(error, 'INVALID_ARGUMENT'),
      );
    }
  });

  it('runs a family customizer once per layer of the range and uses the layer it returns', async () => {
    const backend = createCpuBackend();
    const seen: number[] = [];
    const customized = defineFamily({
      ...llama,
      customize: (block, { layer }) => {
        seen.push(layer);
        // Drop the feed-forward network of layer 1: the logits must change.
        if (layer === 1 && block instanceof TransformerBlock)
          return block.with({ feedForward: { forward: (b: Backend, input: Tensor) => b.scale(input, 0) } });
        return block;
      },
    });
    const registry = new FamilyRegistry([customized, ...DEFAULT_FAMILIES.filter((family) => family !== llama)]);
    const files = await openModelFiles(`${fixtures}/llama`);
    const model = await loadModel(files, backend, { registry });
    expect(seen).toEqual([0, 1]);
    const expected = JSON.parse(readFileSync(`${fixtures}/llama/expected.json`, 'utf8'));
    const logits = await forwardLogits(model, backend, expected.input_ids.slice(0, 4));
    const difference = Math.max(
      ...Array.from(logits[3] as Float32Array, (value, index) => Math.abs(value - expected.logits[3][index])),
    );
    expect(difference).toBeGreaterThan(1e-2);
  });
});
