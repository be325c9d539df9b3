import { describe, expect, it } from 'vitest';
import type { Tensor } from '../tensor/tensor.js';
import type { Backend } from './backend.js';
import {
  checkPagedBatch,
  checkPagedPoolSize,
  createPagedBatch,
  encodePagedBatch,
  type PagedKeyValueCache,
} from './paged-cache.js';

/** A backend stand-in whose `upload` keeps the host data (the index tensors are all `createPagedBatch` makes). */
function recordingBackend(): { backend: Backend; data: Map<Tensor, Int32Array> } {
  const data = new Map<Tensor, Int32Array>();
  const backend = {
    upload(values: Int32Array, shape: readonly number[]): Tensor {
      const tensor: Tensor = { backendName: 'test', dtype: 'i32', shape };
      data.set(tensor, values.slice());
      return tensor;
    },
  } as unknown as Backend;
  return { backend, data };
}

describe('createPagedBatch', () => {
  it('lays the rows out sequence after sequence, with positions, storage rows, starts and padded page tables', () => {
    const { backend, data } = recordingBackend();
    const batch = createPagedBatch(backend, {
      pageSize: 4,
      sequences: [
        { firstPosition: 6, rows: 3, pages: [5, 2, 7] },
        { firstPosition: 0, rows: 2, pages: [1] },
        { firstPosition: 9, rows: 1, pages: [-1, -1, 3] },
      ],
    });
    expect(batch.rows).toBe(6);
    expect(batch.pagesPerSequence).toBe(3);
    // Position p of a sequence goes to storage row pages[p / 4] · 4 + p mod 4.
    const expectedRows = [
      [6, 2 * 4 + 2],
      [7, 2 * 4 + 3],
      [8, 7 * 4 + 0],
      [0, 1 * 4 + 0],
      [1, 1 * 4 + 1],
      [9, 3 * 4 + 1],
    ].flat();
    expect(Array.from(data.get(batch.positionsAndSlots)!)).toEqual(expectedRows);
    expect(batch.positionsAndSlots.shape).toEqual([6, 2]);
    expect(Array.from(data.get(batch.sequenceStarts)!)).toEqual([0, 3, 5, 6]);
    expect(Array.from(data.get(batch.pageTables)!)).toEqual([5, 2, 7, 1, -1, -1, -1, -1, 3]);
    expect(batch.pageTables.shape).toEqual([3, 3]);
  });

  it('rejects layouts the ops cannot read, saying what to fix', () => {
    const { backend } = recordingBackend();
    const bad = [
      { pageSize: 0, sequences: [{ firstPosition: 0, rows: 1, pages: [0] }] },
      { pageSize: 4, sequences: [] },
      { pageSize: 4, sequences: [{ firstPosition: 0, rows: 0, pages: [0] }] },
      { pageSize: 4, sequences: [{ firstPosition: -1, rows: 1, pages: [0] }] },
      { pageSize: 4, sequences: [{ firstPosition: 3, rows: 2, pages: [0] }] }, // position 4 has no page
      { pageSize: 4, sequences: [{ firstPosition: 4, rows: 1, pages: [0, -1] }] }, // the written page dropped
      { pageSize: 4, sequences: [{ firstPosition: 0, rows: 1, pages: [-2] }] },
    ];
    for (const layout of bad) {
      expect(() => createPagedBatch(backend, layout), JSON.stringify(layout)).toThrowError(
        expect.objectContaining({ code: 'INVALID_ARGUMENT' }),
      );
    }
  });

  it('checks a batch against a pool: page size and page ids', () => {
    const { backend } = recordingBackend();
    const cache = { pages: 4, pageSize: 4 } as PagedKeyValueCache;
    const fits = createPagedBatch(backend, { pageSize: 4, sequences: [{ firstPosition: 0, rows: 5, pages: [3, 0] }] });
    expect(() => checkPagedBatch(cache, fits, 'op')).not.toThrow();
    const beyond = createPagedBatch(backend, { pageSize: 4, sequences: [{ firstPosition: 0, rows: 1, pages: [4] }] });
    expect(() => checkPagedBatch(cache, beyond, 'op')).toThrowError(/holds 4 pages/);
    const other = createPagedBatch(backend, { pageSize: 2, sequences: [{ firstPosition: 0, rows: 1, pages: [0] }] });
    expect(() => checkPagedBatch(cache, other, 'op')).toThrowError(/pages of 2 rows/);
    expect(() => checkPagedPoolSize(0, 4)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
    expect(() => checkPagedPoolSize(3, 1.5)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});

describe('encodePagedBatch', () => {
  const layout = {
    pageSize: 4,
    sequences: [
      { firstPosition: 6, rows: 1, pages: [5, 2] },
      { firstPosition: 1, rows: 1, pages: [1] },
    ],
  };

  it('pads the page tables to a width given for the shape of a captured step, the rest as createPagedBatch', () => {
    const data = encodePagedBatch(layout, 4);
    expect(data.pagesPerSequence).toBe(4);
    expect(Array.from(data.pageTables)).toEqual([5, 2, -1, -1, 1, -1, -1, -1]);
    expect(Array.from(data.positionsAndSlots)).toEqual([6, 10, 1, 5]);
    expect(Array.from(data.sequenceStarts)).toEqual([0, 1, 2]);
    expect(encodePagedBatch(layout).pagesPerSequence).toBe(2);
  });

  it('refuses a width below the longest page table', () => {
    expect(() => encodePagedBatch(layout, 1)).toThrowError(expect.objectContaining({ code: 'INVALID_ARGUMENT' }));
  });
});
