import {
  checkPagedBatch,
  type PagedAttentionOptions,
  type PagedBatch,
  type PagedKeyValueCache,
  type RopeParameters,
  StrataError,
  type Tensor,
} from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { recordAttention } from './attention-kernel.js';
import { type AttentionTuning, DEFAULT_ATTENTION_TUNING, planAttention, queryBlocks } from './attention-plan.js';
import { dispatchRopeAndWrite } from './rope-and-write.js';
import { checkCacheWrite, dispatchCacheWrite } from './write-key-values.js';

/** Checks the batch against the cache and the rows of `tensor`; returns the batch's positions and slots. */
function batchRows(
  runtime: GpuRuntime,
  cache: PagedKeyValueCache,
  batch: PagedBatch,
  tensor: Tensor,
  operation: string,
): GpuTensor {
  checkPagedBatch(cache, batch, operation);
  const rows = tensor.shape[0] ?? 0;
  if (rows !== batch.rows) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `${operation}: ${rows} rows for a paged batch of ${batch.rows} rows; pass one row per row of the batch.`,
    );
  }
  return runtime.tensor(batch.positionsAndSlots, 'i32', 'positions and slots');
}

/** Writes keys and values `[rows, width]` of a paged step into each row's page (one invocation per element). */
export function writePagedKeyValues(
  runtime: GpuRuntime,
  cache: PagedKeyValueCache,
  keys: Tensor,
  values: Tensor,
  batch: PagedBatch,
): void {
  const positionsAndSlots = batchRows(runtime, cache, batch, keys, 'writePagedKeyValues');
  const write = checkCacheWrite(runtime, cache.storage, keys, values);
  dispatchCacheWrite(runtime, write, { kind: 'paged', positionsAndSlots });
}

/** RoPE at each row's position and the paged cache write in one dispatch (see `ropeAndWriteKeyValues`). */
export function ropeAndWritePagedKeyValues(
  runtime: GpuRuntime,
  queries: Tensor,
  keys: Tensor,
  values: Tensor,
  cache: PagedKeyValueCache,
  batch: PagedBatch,
  parameters: RopeParameters,
): GpuTensor {
  const positionsAndSlots = batchRows(runtime, cache, batch, queries, 'ropeAndWritePagedKeyValues');
  const write = checkCacheWrite(runtime, cache.storage, keys, values);
  return dispatchRopeAndWrite(runtime, queries, write, parameters, { kind: 'paged', positionsAndSlots });
}

/**
 * Attention of the rows of several sequences, each over its own pages, in one dispatch (plus the combine pass when
 * the keys are split): the kernel of `attention` with blocks that never span two sequences and keys read through
 * each block's page table. Rows of a sequence are consecutive positions (a prefill chunk) or one (decode).
 */
export function pagedAttention(
  runtime: GpuRuntime,
  queries: Tensor,
  cache: PagedKeyValueCache,
  batch: PagedBatch,
  options: PagedAttentionOptions,
  tuning: AttentionTuning = DEFAULT_ATTENTION_TUNING,
): GpuTensor {
  const positionsAndSlots = batchRows(runtime, cache, batch, queries, 'pagedAttention');
  const query = runtime.tensor(queries, 'f32', 'queries');
  const keys = runtime.tensor(cache.storage.keys, undefined, 'key cache');
  const values = runtime.tensor(cache.storage.values, keys.dtype, 'value cache');
  const { heads, keyValueHeads, headDimensions } = options;
  const [rows = 0, columns = 0] = query.shape;
  const cacheWidth = keys.shape[1] ?? 0;
  if (
    query.shape.length !== 2 ||
    !Number.isInteger(heads) ||
    !Number.isInteger(keyValueHeads) ||
    columns !== heads * headDimensions ||
    keyValueHeads <= 0 ||
    heads % keyValueHeads !== 0 ||
    cacheWidth !== keyValueHeads * headDimensions
  ) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `pagedAttention: queries [${query.shape.join(', ')}] with ${heads} heads of ${headDimensions} and ${keyValueHeads} key/value heads do not fit the cache rows of ${cacheWidth}.`,
    );
  }
  const { sequences, pageSize } = batch.layout;
  const sequenceRows = sequences.map((sequence) => sequence.rows);
  // A captured step replays with other positions: its splits (a workgroup count) are planned for the most keys its
  // page tables can hold; splits past a sequence's keys find no work.
  const mostKeys =
    runtime.recorder.capture !== undefined
      ? batch.pagesPerSequence * pageSize
      : Math.max(...sequences.map((sequence) => sequence.firstPosition + sequence.rows));
  const shape = {
    rows,
    heads,
    keyValueHeads,
    headDimensions,
    keys: Math.min(mostKeys, options.window ?? Number.POSITIVE_INFINITY),
    sequenceRows,
  };
  const plan = planAttention(shape, runtime.limits.maxComputeWorkgroupStorageSize, tuning);
  return recordAttention(runtime, {
    addressing: 'paged',
    plan,
    queryBlocks: queryBlocks(shape, plan.rowsPerBlock),
    scalars: {
      rows,
      heads,
      keyValueHeads,
      headDimensions,
      capacity: keys.shape[0] ?? 0,
      pageSize,
      window: options.window ?? 0,
      scale: options.scale,
      softcap: options.softcap !== undefined && options.softcap > 0 ? options.softcap : 0,
      sequences: sequences.length,
      tableWidth: batch.pagesPerSequence,
    },
    firstPosition: 0,
    firstKeyAt: () => 0,
    queries: query,
    keys,
    values,
    pageBindings: [
      { tracked: positionsAndSlots.tracked },
      { tracked: runtime.tensor(batch.sequenceStarts, 'i32', 'sequence starts').tracked },
      { tracked: runtime.tensor(batch.pageTables, 'i32', 'page tables').tracked },
    ],
  });
}
