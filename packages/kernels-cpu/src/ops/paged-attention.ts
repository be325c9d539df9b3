import {
  checkPagedBatch,
  type PagedAttentionOptions,
  type PagedBatch,
  type PagedKeyValueCache,
  type RopeParameters,
  StrataError,
  type Tensor,
} from '@strata/core';
import { expectShape, floatData, fromData, intData, matrixShape } from '../cpu-tensor.js';
import { checkAttentionOptions, ropeAtPositions, rowAttention, writeRows } from './attention.js';
import { cachedRows, cacheStorage } from './cache-storage.js';

/**
 * Checks the batch against the cache and the row count of `rows` `[rows, …]`; returns the rows' positions and storage
 * rows (`[rows, 2]`).
 */
function batchRows(cache: PagedKeyValueCache, batch: PagedBatch, rows: Tensor, operation: string): Int32Array {
  checkPagedBatch(cache, batch, operation);
  const { rows: count } = matrixShape(rows.shape);
  expectShape(
    count === batch.rows,
    `${operation}: ${count} rows for a paged batch of ${batch.rows} rows; pass one row per row of the batch.`,
  );
  return intData(batch.positionsAndSlots, operation);
}

/** Writes row r of keys/values into its storage row (its page and offset: `batch.positionsAndSlots[r, 1]`). */
export function writePagedKeyValues(cache: PagedKeyValueCache, keys: Tensor, values: Tensor, batch: PagedBatch): void {
  const rows = batchRows(cache, batch, keys, 'writePagedKeyValues');
  writeRows(cache.storage, keys, values, (row) => rows[2 * row + 1]!, 'writePagedKeyValues');
}

/** RoPE of queries and keys at each row's position, the keys and values written as {@link writePagedKeyValues}. */
export function ropeAndWritePagedKeyValues(
  queries: Tensor,
  keys: Tensor,
  values: Tensor,
  cache: PagedKeyValueCache,
  batch: PagedBatch,
  parameters: RopeParameters,
): Tensor {
  const rows = batchRows(cache, batch, queries, 'ropeAndWritePagedKeyValues');
  const positionOf = (row: number) => rows[2 * row]!;
  const rotatedKeys = ropeAtPositions(keys, positionOf, parameters);
  writePagedKeyValues(cache, rotatedKeys, values, batch);
  return ropeAtPositions(queries, positionOf, parameters);
}

/**
 * Causal attention of each row over its own sequence's pages: the row at position p of sequence s sees s's keys at
 * positions max(0, p − window + 1) … p, key k read from storage row `pages[⌊k / pageSize⌋] · pageSize + k mod pageSize`
 * of s's page table. Throws `INVALID_ARGUMENT` when a row needs a page the table marks as dropped (−1).
 */
export function pagedAttention(
  queries: Tensor,
  cache: PagedKeyValueCache,
  batch: PagedBatch,
  options: PagedAttentionOptions,
): Tensor {
  const rows = batchRows(cache, batch, queries, 'pagedAttention');
  const query = floatData(queries, 'pagedAttention');
  const storage = cacheStorage(cache.storage, 'pagedAttention');
  const { columns } = matrixShape(queries.shape);
  checkAttentionOptions(options, columns, storage, 'pagedAttention');
  const { pageSize, sequences } = batch.layout;
  const output = new Float32Array(batch.rows * columns);
  const attend = rowAttention({ query, width: storage.width, options, output });
  let row = 0;
  sequences.forEach((sequence, index) => {
    const storageRow = (key: number) => {
      const page = sequence.pages[Math.floor(key / pageSize)]!;
      if (page < 0) {
        throw new StrataError(
          'INVALID_ARGUMENT',
          `pagedAttention: sequence ${index} needs position ${key}, but its page table marks that page as dropped.`,
          { details: { sequence: index, position: key } },
        );
      }
      return page * pageSize + (key % pageSize);
    };
    const last = sequence.firstPosition + sequence.rows - 1;
    const first = Math.max(0, options.window === undefined ? 0 : sequence.firstPosition - options.window + 1);
    const cached = cachedRows(storage, first, last, storageRow);
    for (let offset = 0; offset < sequence.rows; offset++, row++) attend(row, rows[2 * row]!, cached);
  });
  return fromData(output, queries.shape);
}
