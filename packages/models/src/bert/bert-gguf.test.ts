import { readFileSync } from 'node:fs';
import { createCpuBackend } from '@strata/kernels-cpu';
import { ggufValue } from '@strata/loaders';
import { Pooling } from '@strata/primitives';
import { describe, expect, it } from 'vitest';
import { loadEmbeddingModel } from '../embedding/load-embedding-model.js';
import { rewriteGguf } from '../testing/rewrite-gguf.js';

// The BERT references of @strata/pipeline (sentence-transformers on the same weights; see its fixtures README).
const fixtures = 'packages/pipeline/fixtures/embeddings';
const cls = JSON.parse(readFileSync(`${fixtures}/bert-cls/expected.json`, 'utf8')) as {
  texts: { input_ids: number[]; pooled: number[] }[];
};

describe('BERT from GGUF', () => {
  it("takes its pooling from bert.pooling_type (CLS here) and matches sentence-transformers' CLS vectors", async () => {
    const files = await rewriteGguf(`${fixtures}/bert-mean/model-f32.gguf`, {
      metadata: (entries) =>
        entries.map(([key, value]) => [key, key === 'bert.pooling_type' ? ggufValue.u32(2) : value]),
    });
    const backend = createCpuBackend();
    const model = await loadEmbeddingModel(files, backend);
    expect(model.pooling).toBe('cls');
    expect(model.normalize).toBe(true); // llama.cpp normalizes GGUF embeddings by default
    const sequences = cls.texts.map((text) => text.input_ids);
    const lengths = sequences.map((ids) => ids.length);
    const longest = Math.max(...lengths);
    const ids = new Int32Array(longest * sequences.length);
    sequences.forEach((sequence, index) => {
      sequence.forEach((id, position) => {
        ids[position * sequences.length + index] = id;
      });
    });
    const hidden = model.encode(backend.upload(ids, [ids.length]), lengths);
    const pooled = (await backend.read(new Pooling(model.pooling).forward(backend, hidden, lengths))) as Float32Array;
    let worst = 0;
    cls.texts.forEach((text, index) => {
      text.pooled.forEach((value, column) => {
        worst = Math.max(worst, Math.abs((pooled[index * model.hiddenSize + column] as number) - value));
      });
    });
    expect(worst).toBeLessThan(1e-4);
    model.dispose();
  });
});
