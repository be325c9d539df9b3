import { type Backend, createPagedBatch, type PagedSequenceRows, type RopeParameters, type Tensor } from '@strata/core';
import { it } from 'vitest';
import { type ConformanceContext, compareWithReference, expectClose, randomFor, trackAllocations } from '../harness.js';
import type { SeededRandom } from '../random.js';

/** One sequence of a paged case: its page table and, when it starts with another's first page, whose. */
interface PagedSequence {
  /** Page ids, in position order. */
  readonly pages: readonly number[];
  /** The sequence whose positions `0 … sharedPositions − 1` it shares (a prompt prefix in one page). */
  readonly sharesWith?: number;
  /** Positions shared with `sharesWith` (a multiple of the page size). */
  readonly sharedPositions?: number;
}

/**
 * One paged step: rows `[firstPosition, firstPosition + rows)` of some sequences; `dropped` leading pages of a
 * sequence's table are handed as −1 (pages before a sliding window that the scheduler gave back).
 */
type PagedStep = readonly {
  readonly sequence: number;
  readonly firstPosition: number;
  readonly rows: number;
  readonly dropped?: number;
}[];

interface PagedCase {
  readonly name: string;
  readonly heads: number;
  readonly keyValueHeads: number;
  readonly headDimensions: number;
  readonly pageSize: number;
  readonly pages: number;
  readonly sequences: readonly PagedSequence[];
  readonly steps: readonly PagedStep[];
  readonly window?: number;
  readonly softcap?: number;
  readonly precision?: 'f16' | 'q8_0';
  /** RoPE through `ropeAndWritePagedKeyValues`; absent: `writePagedKeyValues` of the keys as given. */
  readonly rope?: RopeParameters['pairing'];
}

const rope = (pairing: RopeParameters['pairing'], headDimensions: number): RopeParameters => ({
  headDimensions,
  rotaryDimensions: headDimensions,
  pairing,
  inverseFrequencies: Float32Array.from(
    { length: headDimensions / 2 },
    (_, index) => 10000 ** ((-2 * index) / headDimensions),
  ),
  attentionFactor: 1,
});

const PAGED_CASES: readonly PagedCase[] = [
  {
    name: 'three sequences, GQA 2:1, pages out of order, a shared first page, RoPE',
    heads: 4,
    keyValueHeads: 2,
    headDimensions: 16,
    pageSize: 4,
    pages: 12,
    rope: 'half-split',
    sequences: [{ pages: [7, 2, 9] }, { pages: [0, 11] }, { pages: [7, 5, 1], sharesWith: 0, sharedPositions: 4 }],
    steps: [
      [
        { sequence: 0, firstPosition: 0, rows: 6 },
        { sequence: 1, firstPosition: 0, rows: 3 },
      ],
      [
        { sequence: 0, firstPosition: 6, rows: 1 },
        { sequence: 1, firstPosition: 3, rows: 4 },
        { sequence: 2, firstPosition: 4, rows: 5 },
      ],
      [
        { sequence: 2, firstPosition: 9, rows: 1 },
        { sequence: 0, firstPosition: 7, rows: 1 },
        { sequence: 1, firstPosition: 7, rows: 1 },
      ],
    ],
  },
  {
    name: 'sliding window 3 with softcap, dropped pages before the window, no RoPE',
    heads: 2,
    keyValueHeads: 1,
    headDimensions: 16,
    pageSize: 2,
    pages: 10,
    window: 3,
    softcap: 2.5,
    sequences: [{ pages: [4, 0, 8, 3, 6] }, { pages: [1, 9] }],
    steps: [
      [
        { sequence: 0, firstPosition: 0, rows: 7 },
        { sequence: 1, firstPosition: 0, rows: 2 },
      ],
      [
        { sequence: 1, firstPosition: 2, rows: 2 },
        { sequence: 0, firstPosition: 7, rows: 1, dropped: 2 },
      ],
    ],
  },
  {
    name: 'f16 pool: decode rows of three sequences, adjacent RoPE',
    heads: 4,
    keyValueHeads: 2,
    headDimensions: 16,
    pageSize: 4,
    pages: 8,
    precision: 'f16',
    rope: 'adjacent',
    sequences: [{ pages: [3, 6] }, { pages: [0] }, { pages: [5, 2] }],
    steps: [
      [
        { sequence: 0, firstPosition: 0, rows: 5 },
        { sequence: 1, firstPosition: 0, rows: 2 },
        { sequence: 2, firstPosition: 0, rows: 4 },
      ],
      [
        { sequence: 0, firstPosition: 5, rows: 1 },
        { sequence: 1, firstPosition: 2, rows: 1 },
        { sequence: 2, firstPosition: 4, rows: 1 },
      ],
    ],
  },
  {
    name: 'q8_0 pool: heads of 32, a shared first page, half-split RoPE',
    heads: 4,
    keyValueHeads: 2,
    headDimensions: 32,
    pageSize: 4,
    pages: 6,
    precision: 'q8_0',
    rope: 'half-split',
    sequences: [{ pages: [4, 1] }, { pages: [4, 0, 5], sharesWith: 0, sharedPositions: 4 }],
    steps: [
      [{ sequence: 0, firstPosition: 0, rows: 6 }],
      [
        { sequence: 1, firstPosition: 4, rows: 5 },
        { sequence: 0, firstPosition: 6, rows: 1 },
      ],
    ],
  },
  {
    name: '130 keys beside a short sequence (the decode step splits the keys over workgroups)',
    heads: 2,
    keyValueHeads: 1,
    headDimensions: 16,
    pageSize: 16,
    pages: 11,
    rope: 'half-split',
    sequences: [{ pages: [6, 0, 4, 2, 5, 9, 1, 8, 10] }, { pages: [3] }],
    steps: [
      [
        { sequence: 0, firstPosition: 0, rows: 129 },
        { sequence: 1, firstPosition: 0, rows: 3 },
      ],
      [
        { sequence: 1, firstPosition: 3, rows: 1 },
        { sequence: 0, firstPosition: 129, rows: 1 },
      ],
    ],
  },
];

/** Seeded rows of each sequence's keys, values and queries by position (shared prefixes share their rows). */
function caseData(testCase: PagedCase, random: SeededRandom) {
  const width = testCase.keyValueHeads * testCase.headDimensions;
  const queryWidth = testCase.heads * testCase.headDimensions;
  const longest = Math.max(...testCase.sequences.map((sequence) => sequence.pages.length)) * testCase.pageSize;
  const own = testCase.sequences.map(() => ({
    keys: random.floats(longest * width),
    values: random.floats(longest * width),
    queries: random.floats(longest * queryWidth),
  }));
  return testCase.sequences.map((sequence, index) => {
    const source = own[index]!;
    if (sequence.sharesWith === undefined) return source;
    const shared = (sequence.sharedPositions ?? 0) * width;
    const from = own[sequence.sharesWith]!;
    const keys = source.keys.slice();
    const values = source.values.slice();
    keys.set(from.keys.subarray(0, shared));
    values.set(from.values.subarray(0, shared));
    return { keys, values, queries: source.queries };
  });
}

/**
 * The reference: each sequence in its own contiguous cache of the reference backend (`writeKeyValues` or
 * `ropeAndWriteKeyValues`, then `attention` at its position), rows gathered in batch order on the host; plus the
 * cache rows of every position written, in sequence order.
 */
async function contiguousReference(testCase: PagedCase, backend: Backend): Promise<Float32Array[]> {
  const { heads, keyValueHeads, headDimensions } = testCase;
  const width = keyValueHeads * headDimensions;
  const queryWidth = heads * headDimensions;
  const data = caseData(testCase, randomFor(`paged:${testCase.name}`));
  const capacity = Math.max(...testCase.sequences.map((sequence) => sequence.pages.length)) * testCase.pageSize;
  const caches = testCase.sequences.map(() => backend.createKeyValueCache(capacity, width, testCase.precision));
  const written = testCase.sequences.map(() => 0);
  // Shared prefixes: the positions another sequence wrote are in this one's cache too.
  testCase.sequences.forEach((sequence, index) => {
    const shared = sequence.sharedPositions ?? 0;
    if (shared === 0) return;
    const rows = (name: 'keys' | 'values') =>
      backend.upload(data[index]![name].slice(0, shared * width), [shared, width]);
    if (testCase.rope === undefined) backend.writeKeyValues(caches[index]!, rows('keys'), rows('values'), 0);
    else {
      const queries = backend.upload(new Float32Array(shared * queryWidth), [shared, queryWidth]);
      backend.ropeAndWriteKeyValues(
        queries,
        rows('keys'),
        rows('values'),
        caches[index]!,
        0,
        rope(testCase.rope, headDimensions),
      );
    }
  });
  const outputs: Float32Array[] = [];
  for (const step of testCase.steps) {
    const rows: Float32Array[] = [];
    for (const { sequence, firstPosition, rows: count } of step) {
      const slice = (values: Float32Array, columns: number) =>
        backend.upload(values.slice(firstPosition * columns, (firstPosition + count) * columns), [count, columns]);
      const source = data[sequence]!;
      let queries = slice(source.queries, queryWidth);
      if (testCase.rope === undefined) {
        backend.writeKeyValues(
          caches[sequence]!,
          slice(source.keys, width),
          slice(source.values, width),
          firstPosition,
        );
      } else {
        queries = backend.ropeAndWriteKeyValues(
          queries,
          slice(source.keys, width),
          slice(source.values, width),
          caches[sequence]!,
          firstPosition,
          rope(testCase.rope, headDimensions),
        );
      }
      written[sequence] = firstPosition + count;
      const attended = backend.attention(queries, caches[sequence]!, {
        heads,
        keyValueHeads,
        headDimensions,
        firstPosition,
        scale: 1 / Math.sqrt(headDimensions),
        ...(testCase.window === undefined ? {} : { window: testCase.window }),
        ...(testCase.softcap === undefined ? {} : { softcap: testCase.softcap }),
      });
      rows.push((await backend.read(attended)) as Float32Array);
    }
    outputs.push(concatenate(rows));
  }
  const cacheRows: Float32Array[] = [];
  for (const name of ['keys', 'values'] as const) {
    const parts: Float32Array[] = [];
    for (const [index, cache] of caches.entries()) {
      const stored = (await backend.read(cache[name])) as Float32Array;
      parts.push(stored.subarray(0, written[index]! * width));
    }
    cacheRows.push(concatenate(parts));
  }
  return [...outputs, ...cacheRows];
}

/** The backend under test: one paged pool, one `createPagedBatch` per step, the same rows read back. */
async function pagedRun(testCase: PagedCase, backend: Backend): Promise<Float32Array[]> {
  const { heads, keyValueHeads, headDimensions, pageSize } = testCase;
  const width = keyValueHeads * headDimensions;
  const queryWidth = heads * headDimensions;
  const data = caseData(testCase, randomFor(`paged:${testCase.name}`));
  const pool = backend.createPagedKeyValueCache(testCase.pages, pageSize, width, testCase.precision);
  const written = testCase.sequences.map((sequence) => sequence.sharedPositions ?? 0);
  const outputs: Float32Array[] = [];
  for (const step of testCase.steps) {
    const rows: PagedSequenceRows[] = step.map(({ sequence, firstPosition, rows: count, dropped = 0 }) => ({
      firstPosition,
      rows: count,
      pages: testCase.sequences[sequence]!.pages.slice(0, Math.ceil((firstPosition + count) / pageSize)).map(
        (page, index) => (index < dropped ? -1 : page),
      ),
    }));
    const batch = createPagedBatch(backend, { pageSize, sequences: rows });
    const stacked = (name: 'keys' | 'values' | 'queries', columns: number) =>
      backend.upload(
        concatenate(
          step.map(({ sequence, firstPosition, rows: count }) =>
            data[sequence]![name].subarray(firstPosition * columns, (firstPosition + count) * columns),
          ),
        ),
        [batch.rows, columns],
      );
    let queries = stacked('queries', queryWidth);
    if (testCase.rope === undefined) {
      backend.writePagedKeyValues(pool, stacked('keys', width), stacked('values', width), batch);
    } else {
      queries = backend.ropeAndWritePagedKeyValues(
        queries,
        stacked('keys', width),
        stacked('values', width),
        pool,
        batch,
        rope(testCase.rope, headDimensions),
      );
    }
    for (const { sequence, firstPosition, rows: count } of step) written[sequence] = firstPosition + count;
    const attended = backend.pagedAttention(queries, pool, batch, {
      heads,
      keyValueHeads,
      headDimensions,
      scale: 1 / Math.sqrt(headDimensions),
      ...(testCase.window === undefined ? {} : { window: testCase.window }),
      ...(testCase.softcap === undefined ? {} : { softcap: testCase.softcap }),
    });
    outputs.push((await backend.read(attended)) as Float32Array);
  }
  // Every written position's row, gathered through the page tables (dropped pages still hold their rows).
  const cacheRows: Float32Array[] = [];
  for (const name of ['keys', 'values'] as const) {
    const stored = (await backend.read(pool.storage[name])) as Float32Array;
    const parts = testCase.sequences.map((sequence, index) =>
      concatenate(
        Array.from({ length: written[index]! }, (_, position) => {
          const row = sequence.pages[Math.floor(position / pageSize)]! * pageSize + (position % pageSize);
          return stored.subarray(row * width, (row + 1) * width);
        }),
      ),
    );
    cacheRows.push(concatenate(parts));
  }
  return [...outputs, ...cacheRows];
}

function concatenate(parts: readonly Float32Array[]): Float32Array {
  const total = new Float32Array(parts.reduce((sum, part) => sum + part.length, 0));
  let offset = 0;
  for (const part of parts) {
    total.set(part, offset);
    offset += part.length;
  }
  return total;
}

/**
 * The paged KV ops (pool, cache write, fused RoPE write, attention through page tables) against an independent path:
 * the reference backend's contiguous `attention` per sequence over a cache holding that sequence's positions.
 */
export function registerPagedAttentionCases(context: ConformanceContext): void {
  for (const testCase of PAGED_CASES) {
    it(`pagedAttention: ${testCase.name}`, async () => {
      const reference = trackAllocations(context.reference);
      const tested = trackAllocations(context.backend());
      let expected: Float32Array[];
      let actual: Float32Array[];
      try {
        expected = await contiguousReference(testCase, reference.backend);
        actual = await pagedRun(testCase, tested.backend);
      } finally {
        reference.release();
        tested.release();
      }
      const steps = testCase.steps.length;
      // RoPE on another backend may differ within the rope tolerance: what it feeds compares as a composition.
      const attended =
        testCase.rope === undefined ? context.tolerance('pagedAttention') : context.tolerance('composition');
      const keys = testCase.rope === undefined ? context.tolerance('writePagedKeyValues') : context.tolerance('rope');
      expected.forEach((values, index) => {
        const label = `${testCase.name} ${index < steps ? `step ${index}` : index === steps ? 'pool keys' : 'pool values'}`;
        const tolerance = index < steps ? attended : index === steps ? keys : context.tolerance('writePagedKeyValues');
        expectClose(actual[index]!, values, tolerance, label);
      });
    });
  }

  it('gatherRows: rows in any order, repeated, f32 and i32', async () => {
    const values = randomFor('gatherRows').floats(6 * 5);
    const ids = Int32Array.from({ length: 12 }, (_, index) => index * 7 - 20);
    await compareWithReference(context, ['gatherRows', 'gatherRows', 'gatherRows'], 'gather', (backend): Tensor[] => {
      const input = backend.upload(values, [6, 5]);
      return [
        backend.gatherRows(input, [5, 0, 1, 2, 2, 4]),
        backend.gatherRows(input, [3]),
        backend.gatherRows(backend.upload(ids, [4, 3]), [1, 3, 0]),
      ];
    });
  });
}
