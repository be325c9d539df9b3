import { readFileSync } from 'node:fs';
import { type Backend, StrataError } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { createWebGpuBackend, type WebGpuBackend } from '@strata/kernels-webgpu';
import { openModelFiles } from '@strata/loaders/node';
import { readSentenceTransformersSettings } from '@strata/models';
import { directorySource } from '@strata/loaders/node';
import { afterAll, describe, expect, it } from 'vitest';
import { loadTextPipeline } from '../load/load-text-pipeline.js';
import { EmbeddingPipeline, type LoadEmbeddingPipelineOptions } from './embedding-pipeline.js';

// References: sentence-transformers on the same weights (fixtures/embeddings/README.md). Nothing here is computed by strata.
const fixtures = 'packages/pipeline/fixtures/embeddings';
const qwen3Weights = '../shared/fixtures/models/qwen3';

interface Reference {
  readonly normalize: boolean;
  readonly max_seq_length: number;
  readonly texts: readonly { text: string; input_ids: number[]; embedding: number[]; pooled: number[] }[];
  readonly batch: { texts: string[]; embeddings: number[][] };
  readonly long: { text: string; input_ids: number[]; truncated_input_ids: number[]; embedding: number[] };
}

function reference(name: string): Reference {
  return JSON.parse(readFileSync(`${fixtures}/${name}/expected.json`, 'utf8')) as Reference;
}

/** Every vector within 1e-4 max-abs and cosine ≥ 0.99999 of its reference. */
function expectVectors(actual: readonly Float32Array[], expected: readonly (readonly number[])[], label: string): void {
  expect(actual.length, `${label}: vector count`).toBe(expected.length);
  actual.forEach((vector, index) => {
    const target = expected[index] as readonly number[];
    expect(vector.length, `${label} [${index}]: width`).toBe(target.length);
    let worst = 0;
    let dot = 0;
    let actualNorm = 0;
    let targetNorm = 0;
    vector.forEach((value, column) => {
      const other = target[column] as number;
      worst = Math.max(worst, Math.abs(value - other));
      dot += value * other;
      actualNorm += value * value;
      targetNorm += other * other;
    });
    expect(worst, `${label} [${index}]: max abs difference`).toBeLessThan(1e-4);
    expect(dot / Math.sqrt(actualNorm * targetNorm), `${label} [${index}]: cosine`).toBeGreaterThanOrEqual(0.99999);
  });
}

interface ModelCase {
  readonly label: string;
  readonly source: string;
  readonly reference: string;
  readonly options?: Omit<LoadEmbeddingPipelineOptions, 'backend'>;
  /** The source carries sentence-transformers' max_seq_length (the long text must overflow it). */
  readonly limited: boolean;
  /** Texts run truncated (sentence-transformers truncates to max_seq_length: the qwen3 case has a text past it). */
  readonly truncate?: boolean;
}

const CASES: readonly ModelCase[] = [
  {
    label: 'BERT, mean + normalize, safetensors',
    source: `${fixtures}/bert-mean`,
    reference: 'bert-mean',
    limited: true,
  },
  {
    label: 'BERT, mean + normalize, GGUF',
    source: `${fixtures}/bert-mean/model-f32.gguf`,
    reference: 'bert-mean',
    limited: false,
  },
  { label: 'BERT, CLS, safetensors', source: `${fixtures}/bert-cls`, reference: 'bert-cls', limited: true },
  {
    label: 'qwen3, last token + normalize',
    source: qwen3Weights,
    reference: 'qwen3-last',
    options: { pooling: 'last', normalize: true, maximumLength: 32 },
    limited: false,
    truncate: true,
  },
];

describe('EmbeddingPipeline on the CPU against sentence-transformers', () => {
  for (const testCase of CASES) {
    describe(testCase.label, () => {
      const expected = reference(testCase.reference);
      const truncate = testCase.truncate ?? false;
      const load = () => EmbeddingPipeline.load(testCase.source, { backend: createCpuBackend(), ...testCase.options });

      it('tokenizes as the Hugging Face tokenizer and embeds each text alone', async () => {
        const pipeline = await load();
        for (const entry of expected.texts) expect(pipeline.tokenize(entry.text), entry.text).toEqual(entry.input_ids);
        const vectors = [];
        for (const entry of expected.texts) vectors.push(...(await pipeline.embed([entry.text], { truncate })));
        expectVectors(
          vectors,
          expected.texts.map((entry) => entry.embedding),
          'one by one',
        );
        const pooled = await pipeline.embed(
          expected.texts.map((entry) => entry.text),
          { normalize: false, truncate },
        );
        expectVectors(
          pooled,
          expected.texts.map((entry) => entry.pooled),
          'pooled, not normalized',
        );
        pipeline.dispose();
      });

      it('gives the same vectors for a padded batch of mixed lengths', async () => {
        const pipeline = await load();
        expectVectors(await pipeline.embed(expected.batch.texts, { truncate }), expected.batch.embeddings, 'batch');
        expectVectors(
          await pipeline.embed(expected.batch.texts, { batchSize: 2, truncate }),
          expected.batch.embeddings,
          'batches of 2',
        );
        pipeline.dispose();
      });

      if (testCase.limited) {
        it('rejects a text past max_seq_length with its length, and truncates it when asked', async () => {
          const pipeline = await load();
          expect(pipeline.model.maximumLength).toBe(expected.max_seq_length);
          const error = await pipeline.embed(['short', expected.long.text]).catch((caught: unknown) => caught);
          expect(StrataError.isInstance(error, 'CONTEXT_OVERFLOW')).toBe(true);
          expect((error as StrataError).details).toMatchObject({
            indices: [1],
            lengths: [expected.long.input_ids.length],
            maximumLength: expected.max_seq_length,
          });
          expect(pipeline.tokenize(expected.long.text, true)).toEqual(expected.long.truncated_input_ids);
          expectVectors(
            await pipeline.embed([expected.long.text], { truncate: true }),
            [expected.long.embedding],
            'truncated',
          );
          pipeline.dispose();
        });
      }
    });
  }

  it('reads the sentence-transformers settings of the qwen3 folder (pooling, Normalize, max_seq_length)', async () => {
    const settings = await readSentenceTransformersSettings(directorySource(`${fixtures}/qwen3-last`));
    expect(settings).toEqual({ pooling: 'last', normalize: true, maximumLength: 32 });
    const cls = await readSentenceTransformersSettings(directorySource(`${fixtures}/bert-cls`));
    expect(cls).toEqual({ pooling: 'cls', normalize: false, maximumLength: 32 });
  });

  it('rejects bad input with typed errors', async () => {
    const pipeline = await EmbeddingPipeline.load(`${fixtures}/bert-mean`, { backend: createCpuBackend() });
    const codeOf = (run: () => Promise<unknown>) =>
      run().then(
        () => 'resolved',
        (error: unknown) => (StrataError.isInstance(error) ? error.code : 'untyped'),
      );
    expect(await codeOf(() => pipeline.embed([42 as unknown as string]))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => pipeline.embedIds([[]]))).toBe('INVALID_ARGUMENT');
    expect(await codeOf(() => pipeline.embedIds([[2, pipeline.model.vocabularySize, 3]]))).toBe('TOKEN_OUT_OF_RANGE');
    expect(await codeOf(() => pipeline.embed(['a'], { batchSize: 0 }))).toBe('INVALID_ARGUMENT');
    expect(
      await codeOf(() =>
        EmbeddingPipeline.load(`${fixtures}/bert-mean`, { backend: createCpuBackend(), maximumLength: 0 }),
      ),
    ).toBe('INVALID_ARGUMENT');
    pipeline.dispose();
  });

  it('tells which pipeline to use for the wrong kind of model', async () => {
    const generating = await loadTextPipeline(`${fixtures}/bert-mean/model-f32.gguf`, {
      backend: createCpuBackend(),
    }).catch((caught: unknown) => caught);
    expect(StrataError.isInstance(generating, 'INVALID_ARGUMENT')).toBe(true);
    expect((generating as Error).message).toContain('EmbeddingPipeline');
    const embedding = await EmbeddingPipeline.load('../shared/fixtures/models/phi2', {
      backend: createCpuBackend(),
    }).catch((caught: unknown) => caught);
    expect(StrataError.isInstance(embedding, 'UNKNOWN_ARCHITECTURE')).toBe(true);
    expect((embedding as Error).message).toContain('TextPipeline');
  });
});

describe('EmbeddingPipeline on WebGPU against sentence-transformers', () => {
  let backend: Backend | undefined;
  const webgpu = async () => {
    backend ??= await createWebGpuBackend();
    return backend;
  };
  afterAll(() => (backend as WebGpuBackend | undefined)?.destroy());

  for (const testCase of CASES.slice(1)) {
    it(`${testCase.label}: a padded batch`, async () => {
      const expected = reference(testCase.reference);
      const pipeline = await EmbeddingPipeline.load(await openModelFiles(testCase.source), {
        backend: await webgpu(),
        ...testCase.options,
      });
      expectVectors(
        await pipeline.embed(expected.batch.texts, { truncate: testCase.truncate ?? false }),
        expected.batch.embeddings,
        'batch',
      );
      pipeline.dispose();
    });
  }
});
