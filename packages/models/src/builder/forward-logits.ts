import { type Backend, StrataError } from '@strata/core';
import type { CompleteTransformer } from './transformer-model.js';

/**
 * Runs `ids` through a complete model in one prefill step from position 0 with fresh caches, and reads back the logits
 * of every position: one `Float32Array` of `model.vocabularySize` values per id. Every tensor it makes is disposed
 * before it returns; the model is not. Throws `TOKEN_OUT_OF_RANGE` for an id outside `0 … vocabularySize − 1`.
 */
export async function forwardLogits(
  model: CompleteTransformer,
  backend: Backend,
  ids: readonly number[],
): Promise<Float32Array[]> {
  for (const id of ids) {
    if (!(Number.isInteger(id) && id >= 0 && id < model.vocabularySize)) {
      throw new StrataError(
        'TOKEN_OUT_OF_RANGE',
        `Token id ${id} is outside the vocabulary of ${model.vocabularySize}.`,
        { details: { id } },
      );
    }
  }
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
