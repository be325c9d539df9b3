import { StrataError } from '../errors/strata-error.js';
import type { Tensor } from '../tensor/tensor.js';
import type { AttentionOptions, Backend, KeyValueCache } from './backend.js';

/**
 * The paged KV storage of one attention layer: a pool of `pages` pages of `pageSize` rows each. A sequence's position
 * p lives in page `pageTable[⌊p / pageSize⌋]` at row `page · pageSize + p mod pageSize` of `storage`; which pages a
 * sequence holds is its page table, handed to each step in a {@link PagedBatch}. Several sequences' tables may list one
 * page (a shared prompt prefix): the pages are read in place, never copied.
 */
export interface PagedKeyValueCache {
  /**
   * Keys and values `[pages · pageSize, width]`, stored in the cache's precision exactly as a contiguous cache of that
   * many rows (`Backend.createKeyValueCache`): a new precision a backend stores there is a paged precision too.
   */
  readonly storage: KeyValueCache;
  /** Pages in the pool (page ids are `0 … pages − 1`). */
  readonly pages: number;
  /** Rows (token positions) per page. */
  readonly pageSize: number;
}

/** Options of `Backend.pagedAttention`: those of `Backend.attention` without the position (each row has its own). */
export type PagedAttentionOptions = Omit<AttentionOptions, 'firstPosition'>;

/** One sequence's rows of a paged step: `rows` consecutive positions from `firstPosition`, and its page table. */
export interface PagedSequenceRows {
  /** Position of the sequence's first row in this step; its pages already hold the positions before it. */
  readonly firstPosition: number;
  /** Rows of this sequence in the step (≥ 1): one to decode, more for a prefill chunk. */
  readonly rows: number;
  /**
   * The page table: page `pages[i]` holds positions `i · pageSize … (i + 1) · pageSize − 1`, for every position up to
   * the last row. An entry of −1 marks a page the sequence no longer holds: allowed only for positions no query reads
   * (before a sliding window), never for the pages the step writes.
   */
  readonly pages: readonly number[];
}

/** The rows of a paged step: sequence after sequence, each sequence's rows in position order. */
export interface PagedBatchLayout {
  /** Rows per page (the caches' `pageSize`). */
  readonly pageSize: number;
  /** The sequences, in row order (≥ 1). */
  readonly sequences: readonly PagedSequenceRows[];
}

/**
 * A {@link PagedBatchLayout} with the index tensors the paged ops read, made once per step by
 * {@link createPagedBatch} and shared by every layer. Its tensors are ordinary tensors of the backend (a tensor scope
 * frees them with the step).
 */
export interface PagedBatch {
  /** The layout the tensors were made from. */
  readonly layout: PagedBatchLayout;
  /** Rows of the step (the sum of every sequence's rows). */
  readonly rows: number;
  /** Columns of {@link PagedBatch.pageTables}: the longest page table. */
  readonly pagesPerSequence: number;
  /**
   * i32 `[rows, 2]`: for each row, its position and the storage row its key and value go to
   * (`page · pageSize + position mod pageSize`). One tensor, so a kernel binds it once.
   */
  readonly positionsAndSlots: Tensor;
  /** i32 `[sequences + 1]`: the first row of each sequence, then the row count. */
  readonly sequenceStarts: Tensor;
  /** i32 `[sequences, pagesPerSequence]`: the page tables, padded with −1. */
  readonly pageTables: Tensor;
}

function invalid(message: string, details: Record<string, unknown>): StrataError {
  return new StrataError('INVALID_ARGUMENT', message, { details });
}

function checkLayout(layout: PagedBatchLayout): void {
  const { pageSize, sequences } = layout;
  if (!Number.isInteger(pageSize) || pageSize < 1) {
    throw invalid(`A paged batch needs an integer pageSize ≥ 1, got ${pageSize}.`, { pageSize });
  }
  if (sequences.length === 0) throw invalid('A paged batch needs at least one sequence.', {});
  sequences.forEach((sequence, index) => {
    const { firstPosition, rows, pages } = sequence;
    if (!Number.isInteger(firstPosition) || firstPosition < 0 || !Number.isInteger(rows) || rows < 1) {
      throw invalid(
        `Sequence ${index} of a paged batch has ${rows} rows from position ${firstPosition}; give an integer position ≥ 0 and at least one row.`,
        { sequence: index, firstPosition, rows },
      );
    }
    const end = firstPosition + rows;
    if (pages.length < Math.ceil(end / pageSize)) {
      throw invalid(
        `Sequence ${index} reaches position ${end - 1}, but its ${pages.length} pages of ${pageSize} hold only ${pages.length * pageSize} positions; give it a page for every position.`,
        { sequence: index, pages: pages.length, end },
      );
    }
    for (const [at, page] of pages.entries()) {
      const written = (at + 1) * pageSize > firstPosition && at * pageSize < end;
      if (!Number.isInteger(page) || page < -1 || (written && page < 0)) {
        throw invalid(
          `Page table entry ${at} of sequence ${index} is ${page}; entries are page ids ≥ 0, or −1 for a page no query reads (never one the step writes).`,
          { sequence: index, entry: at, page },
        );
      }
    }
  });
}

/** The host data of a {@link PagedBatch}'s index tensors (see {@link encodePagedBatch}). */
export interface PagedBatchData {
  /** Rows of the step. */
  readonly rows: number;
  /** Columns of the page tables. */
  readonly pagesPerSequence: number;
  /** `[rows, 2]`: each row's position and storage row. */
  readonly positionsAndSlots: Int32Array;
  /** `[sequences + 1]`: the first row of each sequence, then the row count. */
  readonly sequenceStarts: Int32Array;
  /** `[sequences, pagesPerSequence]`: the page tables, padded with −1. */
  readonly pageTables: Int32Array;
}

/**
 * Checks `layout` and encodes its index tensors on the host (what {@link createPagedBatch} uploads). `pagesPerSequence`
 * fixes the page tables' width (a captured step's inputs keep one shape from step to step); by default it is the
 * longest page table. Throws as {@link createPagedBatch} does, and `INVALID_ARGUMENT` for a width below a table's length.
 */
export function encodePagedBatch(layout: PagedBatchLayout, pagesPerSequence?: number): PagedBatchData {
  checkLayout(layout);
  const { pageSize, sequences } = layout;
  const rows = sequences.reduce((sum, sequence) => sum + sequence.rows, 0);
  const longest = Math.max(...sequences.map((sequence) => sequence.pages.length));
  const width = pagesPerSequence ?? longest;
  if (!Number.isInteger(width) || width < longest) {
    throw invalid(
      `Page tables of ${width} columns cannot hold a table of ${longest} pages; give at least ${longest}.`,
      {
        pagesPerSequence: width,
        longest,
      },
    );
  }
  const positionsAndSlots = new Int32Array(2 * rows);
  const sequenceStarts = new Int32Array(sequences.length + 1);
  const pageTables = new Int32Array(sequences.length * width).fill(-1);
  let row = 0;
  sequences.forEach((sequence, index) => {
    sequenceStarts[index] = row;
    pageTables.set(sequence.pages, index * width);
    for (let offset = 0; offset < sequence.rows; offset++, row++) {
      const position = sequence.firstPosition + offset;
      positionsAndSlots[2 * row] = position;
      positionsAndSlots[2 * row + 1] =
        sequence.pages[Math.floor(position / pageSize)]! * pageSize + (position % pageSize);
    }
  });
  sequenceStarts[sequences.length] = rows;
  return { rows, pagesPerSequence: width, positionsAndSlots, sequenceStarts, pageTables };
}

/**
 * The {@link PagedBatch} of `layout` over index tensors already on a backend, made from `encodePagedBatch(layout,
 * pagesPerSequence)` (a captured step's inputs: each run writes the data of its own layout into the same tensors).
 */
export function pagedBatchOf(
  layout: PagedBatchLayout,
  pagesPerSequence: number,
  tensors: { readonly positionsAndSlots: Tensor; readonly sequenceStarts: Tensor; readonly pageTables: Tensor },
): PagedBatch {
  const rows = layout.sequences.reduce((sum, sequence) => sum + sequence.rows, 0);
  return { layout, rows, pagesPerSequence, ...tensors };
}

/**
 * Shapes of a {@link PagedBatch}'s three index tensors, in the order `positionsAndSlots`, `sequenceStarts`,
 * `pageTables`, for a step of `rows` rows over `sequences` sequences with page tables of `pagesPerSequence` columns.
 */
export function pagedBatchShapes(
  rows: number,
  sequences: number,
  pagesPerSequence: number,
): [readonly number[], readonly number[], readonly number[]] {
  return [[rows, 2], [sequences + 1], [sequences, pagesPerSequence]];
}

/**
 * Checks `layout` and uploads its index tensors to `backend` (three small i32 uploads). Throws `INVALID_ARGUMENT` for a
 * page size below 1, no sequences, a sequence without rows or with a page table shorter than its last position, or a
 * page id below −1 (or −1 where the step writes). Page ids beyond a cache's pool are checked by the ops.
 */
export function createPagedBatch(backend: Backend, layout: PagedBatchLayout): PagedBatch {
  const data = encodePagedBatch(layout);
  const [positions, starts, tables] = pagedBatchShapes(data.rows, layout.sequences.length, data.pagesPerSequence);
  return pagedBatchOf(layout, data.pagesPerSequence, {
    positionsAndSlots: backend.upload(data.positionsAndSlots, positions),
    sequenceStarts: backend.upload(data.sequenceStarts, starts),
    pageTables: backend.upload(data.pageTables, tables),
  });
}

/**
 * Checks that every page a batch names exists in `cache` and that both use one page size; throws `INVALID_ARGUMENT`
 * naming `operation` otherwise. Every backend's paged ops call it.
 */
export function checkPagedBatch(cache: PagedKeyValueCache, batch: PagedBatch, operation: string): void {
  if (batch.layout.pageSize !== cache.pageSize) {
    throw invalid(
      `${operation}: the batch has pages of ${batch.layout.pageSize} rows but the cache has pages of ${cache.pageSize}; build the batch with the cache's page size.`,
      { operation, batchPageSize: batch.layout.pageSize, cachePageSize: cache.pageSize },
    );
  }
  for (const [index, sequence] of batch.layout.sequences.entries()) {
    for (const page of sequence.pages) {
      if (page >= cache.pages) {
        throw invalid(`${operation}: sequence ${index} names page ${page}, but the cache holds ${cache.pages} pages.`, {
          operation,
          sequence: index,
          page,
          pages: cache.pages,
        });
      }
    }
  }
}

/**
 * Checks the size of a paged pool for `Backend.createPagedKeyValueCache`: `pages` and `pageSize` integers ≥ 1, else
 * `INVALID_ARGUMENT`.
 */
export function checkPagedPoolSize(pages: number, pageSize: number): void {
  if (!Number.isInteger(pages) || pages < 1 || !Number.isInteger(pageSize) || pageSize < 1) {
    throw invalid(`A paged KV pool needs integer pages ≥ 1 and pageSize ≥ 1, got ${pages} pages of ${pageSize} rows.`, {
      pages,
      pageSize,
    });
  }
}
