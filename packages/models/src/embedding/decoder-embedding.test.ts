import { readFileSync } from 'node:fs';
import { createCpuBackend } from '@strata/kernels-cpu';
import { openModelFiles } from '@strata/loaders/node';
import { describe, expect, it } from 'vitest';
import { WeightSource } from '../weights/weight-source.js';
import { loadDecoderEncoder } from './decoder-embedding.js';
import { DEFAULT_REGISTRY } from '../registry/default-registry.js';

// The whole-sequence path of a decoder (what decoder-based embedding models run) checked against transformers' logits of
// the shared qwen3 fixture: final-normed hidden states × the output matrix must give its logits (fixtures README: 1e-3).
const folder = '../shared/fixtures/models/qwen3';
const expected = JSON.parse(readFileSync(`${folder}/expected.json`, 'utf8')) as {
  input_ids: number[];
  logits: number[][];
};

describe('decoder run over whole padded sequences (qwen3)', () => {
  it.each(['', 'model-f32.gguf'])(
    'reproduces transformers logits from %s, alone and padded in a batch',
    async (file) => {
      const backend = createCpuBackend();
      const files = await openModelFiles(file === '' ? folder : `${folder}/${file}`);
      const encoder = await loadDecoderEncoder(DEFAULT_REGISTRY, files, backend);
      const weights = new WeightSource(files.tensors, backend);
      const output = await weights.tensor(files.format === 'gguf' ? 'output.weight' : 'lm_head.weight');
      const ids = expected.input_ids;
      const short = ids.slice(0, 9);
      // position-major batch: the full prompt and a 9-token prefix padded with id 0
      const batch = new Int32Array(ids.length * 2);
      ids.forEach((id, position) => {
        batch[position * 2] = id;
        batch[position * 2 + 1] = short[position] ?? 0;
      });
      const hidden = encoder.encode(backend.upload(batch, [batch.length]), [ids.length, short.length]);
      const logits = (await backend.read(backend.matmul(hidden, output))) as Float32Array;
      const vocabulary = expected.logits[0]?.length as number;
      let worst = 0;
      ids.forEach((_, position) => {
        for (const [sequence, length] of [
          [0, ids.length],
          [1, short.length],
        ] as const) {
          if (position >= length) continue;
          const row = (position * 2 + sequence) * vocabulary;
          const reference = expected.logits[position] as number[];
          for (let index = 0; index < vocabulary; index++) {
            worst = Math.max(worst, Math.abs((logits[row + index] as number) - (reference[index] as number)));
          }
        }
      });
      expect(worst).toBeLessThan(1e-3);
      weights.dispose();
      encoder.dispose();
    },
  );
});
