import { type DType, type KeyValueCache, type KeyValuePrecision, StrataError } from '@strata/core';
import { type CpuTensor, cpuTensor, expectShape } from '../cpu-tensor.js';
import { dequantizeQ8RowInto, type Q8Layout, q8Layout } from '../quant/q8-cache.js';

/**
 * The checked tensors of a KV cache: f32 storage (f32 numerics, or f16 numerics rounded into f32), halves (an f16 cache
 * made by `createKeyValueCache`: Uint16Array bit patterns) or q8_0 bytes.
 */
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
  /** The dtype both tensors are stored in: `'f32'`, `'f16'` (halves) or `'q8_0'`. */
  readonly storageType: DType;
  /** The q8_0 layout of both tensors, when the cache is q8_0. */
  readonly layout: Q8Layout | undefined;
}

/** The storage dtypes a cache of `precision` may have: an f16 cache holds halves, or f32 values it rounds. */
function storageTypesOf(precision: KeyValuePrecision): readonly DType[] {
  if (precision === 'q8_0') return ['q8_0'];
  return precision === 'f16' ? ['f16', 'f32'] : ['f32'];
}

/**
 * Checks a cache's tensors: both `[capacity, width]` of one dtype: f32 (precision `'f32'` or `'f16'`), f16 (precision
 * `'f16'`, made by `createKeyValueCache`) or q8_0 (precision `'q8_0'`, made by `createKeyValueCache`). Throws
 * `SHAPE_MISMATCH`, `DTYPE_MISMATCH` or `INVALID_ARGUMENT` (unknown precision).
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
  const wanted = storageTypesOf(precision);
  if (keys.dtype !== values.dtype || !wanted.includes(keys.dtype)) {
    throw new StrataError(
      'DTYPE_MISMATCH',
      `${operation}: a cache of precision '${precision}' holds two ${wanted.join(' or ')} tensors, got ${keys.dtype} and ${values.dtype}; make it with createKeyValueCache.`,
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
  return { keys, values, capacity, width, precision, storageType: keys.dtype, layout };
}

/** Keys and values of cached positions, and where the row of a position starts. */
export interface CachedRows {
  /**
   * Keys: the cache's own storage (f32 values, or the f16 bit patterns of an f16 cache, which the reader decodes), or
   * the dequantized f32 rows of the positions asked for (q8_0).
   */
  readonly keys: Float32Array | Uint16Array;
  /** Values, laid out and typed as the keys. */
  readonly values: Float32Array | Uint16Array;
  /** Offset of the row of `position` in {@link CachedRows.keys} and {@link CachedRows.values}. */
  rowOf(position: number): number;
}

/**
 * The cached rows of positions `[first, last]`, position p in storage row `storageRow(p)` (a ring's `p mod capacity`
 * not yet overwritten, or a page table's row): an f32 or f16 cache's storage itself (no copy: halves are decoded as
 * they are read), or those rows of a q8_0 cache dequantized (`q · d`) into new arrays.
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
      keys: storage.keys.storage.data as Float32Array | Uint16Array,
      values: storage.values.storage.data as Float32Array | Uint16Array,
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
