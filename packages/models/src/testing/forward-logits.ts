import type { Backend } from '@strata/core';
import type { CompleteTransformer } from '../builder/transformer-model.js';

/** Runs `ids` through a complete model in one prefill step with fresh caches: logits `[ids.length][vocabulary]`. */
export async function forwardLogits(
  model: CompleteTransformer,
  backend: Backend,
  ids: readonly number[],
): Promise<Float32Array[]> {
  const caches = model.cacheSpecs.map((spec) => ({
    keys: backend.zeros([ids.length, spec.keyValueWidth]),
    values: backend.zeros([ids.length, spec.keyValueWidth]),
  }));
  const input = backend.upload(Int32Array.from(ids), [ids.length]);
  const hidden = model.embed(input);
  const transformed = model.transform(hidden, { backend, firstPosition: 0, caches });
  const logits = model.lmHead(transformed);
  const values = (await backend.read(logits)) as Float32Array;
  for (const tensor of [input, hidden, transformed, logits]) backend.dispose(tensor);
  for (const cache of caches) {
    backend.dispose(cache.keys);
    backend.dispose(cache.values);
  }
  const vocabulary = model.vocabularySize;
  return Array.from({ length: ids.length }, (_, row) => values.slice(row * vocabulary, (row + 1) * vocabulary));
}
