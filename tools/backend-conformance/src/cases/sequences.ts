import type { Backend, SelfAttentionOptions, Tensor } from '@strata/core';
import { expect, it } from 'vitest';
import {
  type ConformanceContext,
  compareWithReference,
  expectClose,
  expectStrataError,
  randomFor,
  trackedBackend,
} from '../harness.js';

interface SelfAttentionCase {
  readonly name: string;
  readonly heads: number;
  readonly keyValueHeads: number;
  readonly headDimensions: number;
  readonly lengths: readonly number[];
  readonly sequenceLength: number;
  readonly causal: boolean;
}

const SELF_ATTENTION_CASES: readonly SelfAttentionCase[] = [
  {
    name: 'one sequence, bidirectional',
    heads: 2,
    keyValueHeads: 2,
    headDimensions: 16,
    lengths: [5],
    sequenceLength: 5,
    causal: false,
  },
  {
    name: 'padded batch of 3, bidirectional',
    heads: 4,
    keyValueHeads: 4,
    headDimensions: 8,
    lengths: [7, 2, 5],
    sequenceLength: 7,
    causal: false,
  },
  {
    name: 'padded batch, GQA 3:1, head size 80 (past one workgroup)',
    heads: 3,
    keyValueHeads: 1,
    headDimensions: 80,
    lengths: [3, 6],
    sequenceLength: 8,
    causal: false,
  },
  {
    name: '70 keys (past one key tile), causal',
    heads: 2,
    keyValueHeads: 1,
    headDimensions: 12,
    lengths: [70, 33],
    sequenceLength: 70,
    causal: true,
  },
];

/** Uploads a row-major `[rows, width]` block of random values for a case. */
function randomMatrix(backend: Backend, name: string, rows: number, width: number): Tensor {
  return backend.upload(randomFor(name).floats(rows * width), [rows, width]);
}

/** The rows of one sequence of a position-major batch, as a host array `[length, width]`. */
function sequenceRows(
  data: Float32Array,
  sequences: number,
  sequence: number,
  length: number,
  width: number,
): Float32Array {
  const rows = new Float32Array(length * width);
  for (let position = 0; position < length; position++) {
    const base = (position * sequences + sequence) * width;
    rows.set(data.subarray(base, base + width), position * width);
  }
  return rows;
}

/** Self-attention of padded batches, sequence pooling and L2 normalization, with padding-invariance checks. */
export function registerSequenceCases(context: ConformanceContext): void {
  for (const testCase of SELF_ATTENTION_CASES) {
    it(`selfAttention: ${testCase.name}`, async () => {
      const { heads, keyValueHeads, headDimensions, lengths, sequenceLength, causal } = testCase;
      const rows = sequenceLength * lengths.length;
      const options: SelfAttentionOptions = { heads, keyValueHeads, headDimensions, scale: 0.4, causal, lengths };
      await compareWithReference(context, 'selfAttention', testCase.name, (backend) =>
        backend.selfAttention(
          randomMatrix(backend, `${testCase.name}:q`, rows, heads * headDimensions),
          randomMatrix(backend, `${testCase.name}:k`, rows, keyValueHeads * headDimensions),
          randomMatrix(backend, `${testCase.name}:v`, rows, keyValueHeads * headDimensions),
          options,
        ),
      );
    });
  }

  it('selfAttention: each sequence of a padded batch gives what it gives alone (padding is masked)', async () => {
    const backend = trackedBackend(context);
    const [heads, headDimensions, lengths, sequenceLength] = [2, 8, [4, 1, 6], 6];
    const sequences = lengths.length;
    const rows = sequences * sequenceLength;
    const width = heads * headDimensions;
    const data = ['q', 'k', 'v'].map((part) => randomFor(`padding:${part}`).floats(rows * width));
    for (const causal of [false, true]) {
      const options = { heads, keyValueHeads: heads, headDimensions, scale: 0.35, causal };
      const [queries, keys, values] = data.map((values) => backend.upload(values, [rows, width])) as [
        Tensor,
        Tensor,
        Tensor,
      ];
      const batched = (await backend.read(
        backend.selfAttention(queries, keys, values, { ...options, lengths }),
      )) as Float32Array;
      for (let sequence = 0; sequence < sequences; sequence++) {
        const length = lengths[sequence] as number;
        const alone = data.map((values) =>
          backend.upload(sequenceRows(values, sequences, sequence, length, width), [length, width]),
        ) as [Tensor, Tensor, Tensor];
        const single = (await backend.read(
          backend.selfAttention(...alone, { ...options, lengths: [length] }),
        )) as Float32Array;
        expectClose(
          sequenceRows(batched, sequences, sequence, length, width),
          single,
          context.tolerance('selfAttention'),
          `sequence ${sequence} causal=${causal}`,
        );
      }
    }
  });

  it('selfAttention: causal over one sequence equals cached attention from position 0', async () => {
    const backend = trackedBackend(context);
    const [heads, keyValueHeads, headDimensions, rows] = [4, 2, 16, 9];
    const queries = randomMatrix(backend, 'cached:q', rows, heads * headDimensions);
    const keys = randomMatrix(backend, 'cached:k', rows, keyValueHeads * headDimensions);
    const values = randomMatrix(backend, 'cached:v', rows, keyValueHeads * headDimensions);
    const cache = {
      keys: backend.zeros([rows, keyValueHeads * headDimensions]),
      values: backend.zeros([rows, keyValueHeads * headDimensions]),
    };
    backend.writeKeyValues(cache, keys, values, 0);
    const geometry = { heads, keyValueHeads, headDimensions, scale: 0.25 };
    const cached = await backend.read(backend.attention(queries, cache, { ...geometry, firstPosition: 0 }));
    const direct = await backend.read(
      backend.selfAttention(queries, keys, values, { ...geometry, causal: true, lengths: [rows] }),
    );
    expectClose(direct, cached, context.tolerance('selfAttention'), 'causal self-attention vs cached attention');
  });

  it('selfAttention: lengths that do not fit the rows are rejected', async () => {
    const backend = trackedBackend(context);
    const matrix = randomMatrix(backend, 'bad-lengths', 6, 8);
    const options = { heads: 1, keyValueHeads: 1, headDimensions: 8, scale: 1, causal: false };
    await expectStrataError(backend, 'INVALID_ARGUMENT', () =>
      backend.selfAttention(matrix, matrix, matrix, { ...options, lengths: [4, 2] }),
    );
    await expectStrataError(backend, 'SHAPE_MISMATCH', () =>
      backend.selfAttention(matrix, matrix, matrix, { ...options, lengths: [1, 1, 1, 1] }),
    );
  });

  for (const pooling of ['mean', 'first', 'last'] as const) {
    it(`poolSequences: ${pooling} over a padded batch`, async () => {
      const lengths = [3, 1, 5, 2];
      const [sequenceLength, width] = [5, 40];
      const data = randomFor(`pool:${pooling}`).floats(lengths.length * sequenceLength * width);
      const reference = await compareWithReference(context, 'poolSequences', pooling, (backend) =>
        backend.poolSequences(backend.upload(data, [lengths.length * sequenceLength, width]), { lengths, pooling }),
      );
      // independent of the CPU kernel: the second sequence has one token, whatever the pooling gives its row back
      expectClose(
        (reference[0] as Float32Array).subarray(width, 2 * width),
        sequenceRows(data, 4, 1, 1, width),
        context.tolerance('poolSequences'),
        'one-token sequence',
      );
    });
  }

  it('l2Normalize: rows of unit length, zero rows stay zero', async () => {
    const width = 300;
    const data = randomFor('l2').floats(3 * width, -3, 3);
    data.fill(0, width, 2 * width);
    const [reference] = await compareWithReference(context, 'l2Normalize', 'random and zero rows', (backend) =>
      backend.l2Normalize(backend.upload(data, [3, width]), 1e-12),
    );
    const output = reference as Float32Array;
    for (const row of [0, 2]) {
      const norm = Math.hypot(...output.subarray(row * width, (row + 1) * width));
      expect(norm).toBeCloseTo(1, 5);
    }
    expect(output.subarray(width, 2 * width).every((value) => value === 0)).toBe(true);
  });
}
