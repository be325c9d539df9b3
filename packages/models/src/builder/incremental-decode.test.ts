import { readFileSync } from 'node:fs';
import { createCpuBackend } from '@strata/kernels-cpu';
import { openModelFiles } from '@strata/loaders/node';
import { describe, expect, it } from 'vitest';
import { loadModel } from '../load-model.js';

const fixtures = '../shared/fixtures/models';

// Prefill some tokens, then one token per step at increasing positions: the logits must equal the one-step reference.
// Sliding-window layers get a ring-buffer cache of exactly their window (the backend contract: capacity ≥ window + rows
// written per step − 1), so the window and the ring indexing are exercised past position 8.
describe('incremental decoding through the caches the caller hands in', () => {
  it.each([
    ['llama', 'model-f32.gguf'],
    ['mistral-swa', ''],
    ['qwen3moe', ''],
  ])('%s %s: prefill 4 then 20 single-token steps match transformers', async (fixture, file) => {
    const backend = createCpuBackend();
    const model = await loadModel(await openModelFiles(`${fixtures}/${fixture}/${file}`), backend);
    const expected = JSON.parse(readFileSync(`${fixtures}/${fixture}/expected.json`, 'utf8'));
    const ids: number[] = expected.input_ids;
    const prefill = 4;
    const caches = model.cacheSpecs.map((spec) => {
      const capacity = spec.window === undefined ? ids.length : Math.max(spec.window, prefill + spec.window - 1);
      return {
        keys: backend.zeros([capacity, spec.keyValueWidth]),
        values: backend.zeros([capacity, spec.keyValueWidth]),
      };
    });
    if (fixture === 'mistral-swa') expect(caches[0]?.keys.shape[0]).toBeLessThan(ids.length);
    let maximum = 0;
    for (let position = 0; position < ids.length; ) {
      const rows = position === 0 ? prefill : 1;
      const input = backend.upload(Int32Array.from(ids.slice(position, position + rows)), [rows]);
      const logits = (await backend.read(
        model.lmHead(model.transform(model.embed(input), { backend, firstPosition: position, caches })),
      )) as Float32Array;
      for (let row = 0; row < rows; row++) {
        const reference = expected.logits[position + row] as number[];
        reference.forEach((value, index) => {
          maximum = Math.max(maximum, Math.abs(value - (logits[row * reference.length + index] as number)));
        });
      }
      position += rows;
    }
    expect(maximum).toBeLessThan(1e-3);
  });
});
