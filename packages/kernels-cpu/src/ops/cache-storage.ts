import { type KeyValueCache, type KeyValuePrecision, StrataError } from '@strata/core';
import { type CpuTensor, cpuTensor, expectShape } from '../cpu-tensor.js';
import { dequantizeQ8RowInto, type Q8Layout, q8Layout } from '../quant/q8-cache.js';

/** The checked tensors of a KV cache: f32 storage (f32 and f16 numerics) or q8_0 bytes. */
export interface CacheStorage {
  /** The keys tensor. */
  readonly keys: CpuTensor;
  /** The values tensor. */
  readonly values: CpuTensor;
  /** Rows of the cache. */
  readonly capacity: number;
  /** Values per row. */
  readonly width: number;
  /** The cache's numerics. */
  readonly precision: KeyValuePrecision;
  /** The q8_0 layout of both tensors, when the cache is q8_0. */
  readonly layout: Q8Layout | undefined;
}

/**
 * Checks a cache's tensors: both `[capacity, width]`, f32 (precision `'f32'` or `'f16'`) or q8_0 (precision `'q8_0'`,
 * made by `createKeyValueCache`). Throws `SHAPE_MISMATCH`, `DTYPE_MISMATCH` or `INVALID_ARGUMENT` (unknown precision).
 */
export function cacheStorage(cache: KeyValueCache, operation: string): CacheStorage {
  const precision = cache.precision ?? 'f32';
  if (precision !== 'f32' && precision !== 'f16' && precision !== 'q8_0') {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `${operation}: cache precision must be 'f32', 'f16' or 'q8_0', got ${String(precision)}.`,
    );
  }
  const keys = cpuTensor(cache.keys, operation, 'any');
  const values = cpuTensor(cache.values, operation, 'any');
  const wanted = precision === 'q8_0' ? 'q8_0' : 'f32';
  if (keys.dtype !== wanted || values.dtype !== wanted) {
    throw new StrataError(
      'DTYPE_MISMATCH',
      `${operation}: a cache of precision '${precision}' holds ${wanted} tensors, got ${keys.dtype} and ${values.dtype}; make it with createKeyValueCache.`,
      { details: { operation, precision, keys: keys.dtype, values: values.dtype } },
    );
  }
  expectShape(
    keys.shape.length === 2 &&
      values.shape.length === 2 &&
      keys.shape[0] === values.shape[0] &&
      keys.shape[1] === values.shape[1],
    `${operation}: cache keys [${keys.shape.join(', ')}] and values [${values.shape.join(', ')}] must both be [capacity, keyValueHeads · headDimensions].`,
  );
  const [capacity, width] = keys.shape as [number, number];
  const layout = precision === 'q8_0' ? q8Layout(capacity, width) : undefined;
  return { keys, values, capacity, width, precision, layout };
}

/** Keys and values of cached positions as f32 rows, and where the row of a position starts. */
export interface CachedRows {
  /** Keys: the cache's own storage (f32), or the dequantized rows of the positions asked for (q8_0). */
  readonly keys: Float32Array;
  /** Values, laid out as the keys. */
  readonly values: Float32Array;
  /** Offset of the row of `position` in {@link CachedRows.keys} and {@link CachedRows.values}. */
  rowOf(position: number): number;
}

/**
 * The cached rows of positions `[first, last]`, position p in storage row `storageRow(p)` (a ring's `p mod capacity`
 * not yet overwritten, or a page table's row): an f32 cache's storage itself, or those rows of a q8_0 cache
 * dequantized (`q · d`) into new arrays.
 */
export function cachedRows(
  storage: CacheStorage,
  first: number,
  last: number,
  storageRow: (position: number) => number,
): CachedRows {
  const { width, layout } = storage;
  if (layout === undefined) {
    return {
      keys: storage.keys.storage.data as Float32Array,
      values: storage.values.storage.data as Float32Array,
      rowOf: (position) => storageRow(position) * width,
    };
  }
  const count = Math.max(0, last - first + 1);
  const keys = new Float32Array(count * width);
  const values = new Float32Array(count * width);
  for (let position = first; position <= last; position++) {
    const offset = (position - first) * width;
    const row = storageRow(position);
    dequantizeQ8RowInto(storage.keys.storage.data as Uint8Array, layout, row, keys, offset);
    dequantizeQ8RowInto(storage.values.storage.data as Uint8Array, layout, row, values, offset);
  }
  return { keys, values, rowOf: (position) => (position - first) * width };
}
