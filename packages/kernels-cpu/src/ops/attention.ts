import type { AttentionOptions, KeyValueCache, RopeParameters, Tensor } from '@strata/core';
import { Q8_0_BLOCK_SIZE, StrataError } from '@strata/core';
import { expectShape, floatData, fromData, matrixShape } from '../cpu-tensor.js';
import { floatsToHalvesInto, floatToHalf, halfTable16 } from '../quant/half.js';
import { quantizeQ8Row } from '../quant/q8-cache.js';
import { type CachedRows, type CacheStorage, cachedRows, cacheStorage } from './cache-storage.js';

/**
 * Rotary embedding at positions `firstPosition + row`. The angle is rounded to f32 (position · inverse frequency in
 * f32, as PyTorch and llama.cpp compute it) before cos/sin in f64; cos and sin are multiplied by the attention factor;
 * dimensions past `rotaryDimensions` pass through unchanged.
 */
export function rope(input: Tensor, firstPosition: number, parameters: RopeParameters): Tensor {
  return ropeAtPositions(input, (row) => firstPosition + row, parameters);
}

/** {@link rope} with each row at its own position `positionOf(row)` (the rows of a paged step). */
export function ropeAtPositions(
  input: Tensor,
  positionOf: (row: number) => number,
  parameters: RopeParameters,
): Tensor {
  const data = floatData(input, 'rope');
  const { rows, columns } = matrixShape(input.shape);
  const { headDimensions, rotaryDimensions, pairing, inverseFrequencies, attentionFactor } = parameters;
  const half = rotaryDimensions / 2;
  expectShape(
    headDimensions > 0 && columns % headDimensions === 0,
    `rope: ${columns} columns are not a whole number of heads of ${headDimensions}.`,
  );
  expectShape(
    Number.isInteger(half) && rotaryDimensions <= headDimensions && inverseFrequencies.length === half,
    `rope: rotaryDimensions ${rotaryDimensions} must be even, ≤ headDimensions ${headDimensions}, with ${half} inverse frequencies (got ${inverseFrequencies.length}).`,
  );
  const heads = columns / headDimensions;
  const output = new Float32Array(data);
  const cosines = new Float64Array(half);
  const sines = new Float64Array(half);
  const stride = pairing === 'adjacent' ? 2 : 1;
  const partner = pairing === 'adjacent' ? 1 : half;
  for (let row = 0; row < rows; row++) {
    const position = positionOf(row);
    for (let index = 0; index < half; index++) {
      const angle = Math.fround(position * inverseFrequencies[index]!);
      cosines[index] = Math.cos(angle) * attentionFactor;
      sines[index] = Math.sin(angle) * attentionFactor;
    }
    for (let head = 0; head < heads; head++) {
      const base = row * columns + head * headDimensions;
      for (let index = 0; index < half; index++) {
        const first = base + index * stride;
        const second = first + partner;
        const x0 = data[first]!;
        const x1 = data[second]!;
        output[first] = x0 * cosines[index]! - x1 * sines[index]!;
        output[second] = x0 * sines[index]! + x1 * cosines[index]!;
      }
    }
  }
  return fromData(output, input.shape);
}

/**
 * Writes rows of keys/values for positions `firstPosition + row` into cache rows `(firstPosition + row) mod capacity`:
 * exactly (`'f32'`), rounded to half precision (`'f16'`: stored as halves, or rounded in f32 storage) or quantized
 * into q8_0 blocks (`'q8_0'`, see `KeyValueCache.precision`).
 */
export function writeKeyValues(cache: KeyValueCache, keys: Tensor, values: Tensor, firstPosition: number): void {
  if (!(Number.isInteger(firstPosition) && firstPosition >= 0)) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `writeKeyValues needs a non-negative integer position, got ${firstPosition}.`,
    );
  }
  writeRows(cache, keys, values, (row, capacity) => (firstPosition + row) % capacity, 'writeKeyValues');
}

/**
 * Writes row r of keys/values into cache row `storageRow(r, capacity)` in the cache's precision: exactly, as f16 bit
 * patterns (rounded to nearest even), rounded to half precision in f32 storage, or quantized into q8_0 blocks (the
 * storage of every cache write, contiguous or paged).
 */
export function writeRows(
  cache: KeyValueCache,
  keys: Tensor,
  values: Tensor,
  storageRow: (row: number, capacity: number) => number,
  operation: string,
): void {
  const target = cacheStorage(cache, operation);
  const newKeys = floatData(keys, operation);
  const newValues = floatData(values, operation);
  const { rows, columns } = matrixShape(keys.shape);
  expectShape(
    columns === target.width && keys.shape.length === values.shape.length && newKeys.length === newValues.length,
    `${operation}: keys [${keys.shape.join(', ')}] and values [${values.shape.join(', ')}] must both be [rows, ${target.width}].`,
  );
  const { precision, storageType, layout, width } = target;
  const cacheKeys = target.keys.storage.data;
  const cacheValues = target.values.storage.data;
  for (let row = 0; row < rows; row++) {
    const slot = storageRow(row, target.capacity);
    if (layout !== undefined) {
      quantizeQ8Row(newKeys, row * columns, cacheKeys as Uint8Array, layout, slot);
      quantizeQ8Row(newValues, row * columns, cacheValues as Uint8Array, layout, slot);
    } else if (storageType === 'f16') {
      floatsToHalvesInto(newKeys, row * columns, columns, cacheKeys as Uint16Array, slot * width);
      floatsToHalvesInto(newValues, row * columns, columns, cacheValues as Uint16Array, slot * width);
    } else {
      const rowKeys = newKeys.subarray(row * columns, (row + 1) * columns);
      const rowValues = newValues.subarray(row * columns, (row + 1) * columns);
      (cacheKeys as Float32Array).set(precision === 'f16' ? roundToHalf(rowKeys) : rowKeys, slot * width);
      (cacheValues as Float32Array).set(precision === 'f16' ? roundToHalf(rowValues) : rowValues, slot * width);
    }
  }
}

/** Each value rounded to the nearest half-precision value (ties to even), as an f16 cache in f32 storage keeps it. */
function roundToHalf(data: Float32Array): Float32Array {
  const table = halfTable16();
  return data.map((value) => table[floatToHalf(value)]!);
}

/**
 * Causal attention over the cache. Query row r sits at p = firstPosition + r and sees key positions k with
 * max(0, p − window + 1) ≤ k ≤ p, read from cache row k mod capacity. Throws `CONTEXT_OVERFLOW` when a needed position
 * was already overwritten in the ring (capacity < window + rows − 1, or no window and the context exceeds capacity).
 */
export function attention(queries: Tensor, cache: KeyValueCache, options: AttentionOptions): Tensor {
  const query = floatData(queries, 'attention');
  const storage = cacheStorage(cache, 'attention');
  const { capacity, width } = storage;
  const { firstPosition, window } = options;
  const { rows, columns } = matrixShape(queries.shape);
  checkAttentionOptions(options, columns, storage, 'attention');
  if (!(Number.isInteger(firstPosition) && firstPosition >= 0)) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `attention needs a non-negative integer firstPosition, got ${firstPosition}.`,
    );
  }
  const lastPosition = firstPosition + rows - 1;
  const oldestKept = lastPosition - capacity + 1;
  const firstNeeded = Math.max(0, window === undefined ? 0 : firstPosition - window + 1);
  if (rows > 0 && firstNeeded < oldestKept) {
    throw new StrataError(
      'CONTEXT_OVERFLOW',
      `attention at positions ${firstPosition}…${lastPosition} needs cached position ${firstNeeded}, but a cache of ${capacity} rows keeps only ${oldestKept}…${lastPosition}. Use a larger cache (≥ window + rows − 1) or fewer rows per step.`,
      { details: { capacity, firstPosition, rows, window } },
    );
  }
  const output = new Float32Array(rows * columns);
  const cached = cachedRows(storage, firstNeeded, lastPosition, (position) => position % capacity);
  const attend = rowAttention({ query, width, options, output });
  for (let row = 0; row < rows; row++) attend(row, firstPosition + row, cached);
  return fromData(output, queries.shape);
}

/**
 * Checks head counts and widths of queries (`columns`) and cache rows against `options`, a q8_0 cache's heads (whole
 * blocks), and the window and softcap: `SHAPE_MISMATCH` or `INVALID_ARGUMENT` naming `operation`.
 */
export function checkAttentionOptions(
  options: Omit<AttentionOptions, 'firstPosition'>,
  columns: number,
  storage: CacheStorage,
  operation: string,
): void {
  const { heads, keyValueHeads, headDimensions, window, softcap } = options;
  const { width } = storage;
  expectShape(
    heads > 0 && keyValueHeads > 0 && heads % keyValueHeads === 0,
    `${operation}: ${heads} query heads are not a multiple of ${keyValueHeads} key/value heads.`,
  );
  expectShape(
    columns === heads * headDimensions,
    `${operation}: queries have ${columns} columns; ${heads} heads of ${headDimensions} need ${heads * headDimensions}.`,
  );
  expectShape(
    width === keyValueHeads * headDimensions,
    `${operation}: the cache rows have ${width} columns; ${keyValueHeads} key/value heads of ${headDimensions} need ${keyValueHeads * headDimensions}.`,
  );
  if (storage.precision === 'q8_0' && headDimensions % Q8_0_BLOCK_SIZE !== 0) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `${operation}: a q8_0 cache needs heads of a multiple of ${Q8_0_BLOCK_SIZE} dimensions (its blocks lie within a head), got ${headDimensions}; use an f16 or f32 cache.`,
      { details: { headDimensions } },
    );
  }
  if (window !== undefined && !(Number.isInteger(window) && window > 0)) {
    throw new StrataError('INVALID_ARGUMENT', `${operation} needs a positive integer window, got ${window}.`);
  }
  if (softcap !== undefined && !(softcap > 0)) {
    throw new StrataError('INVALID_ARGUMENT', `${operation} needs a positive softcap (or none), got ${softcap}.`);
  }
}

/** What {@link rowAttention} reads and writes. */
export interface RowAttentionInputs {
  /** Query rows `[rows, heads · headDimensions]`. */
  readonly query: Float32Array;
  /** keyValueHeads · headDimensions. */
  readonly width: number;
  /** Heads, scale, window and softcap (each row brings its own position). */
  readonly options: Omit<AttentionOptions, 'firstPosition'>;
  /** Where each row's output goes, `[rows, heads · headDimensions]`. */
  readonly output: Float32Array;
}

/**
 * The attention of one query row over every head, as a reusable function: the row at `position` sees keys at
 * positions max(0, position − window + 1) … position, read from `cached` (f32 rows of the cache, or the halves of an
 * f16 cache decoded by table as they are read; see `cachedRows`); scores and sums in f64, softcap on the scaled score
 * before the softmax.
 */
export function rowAttention(inputs: RowAttentionInputs): (row: number, position: number, cached: CachedRows) => void {
  const { query, options, output } = inputs;
  const { heads, keyValueHeads, headDimensions, scale, window, softcap } = options;
  const columns = heads * headDimensions;
  const group = heads / keyValueHeads;
  const halves = halfTable16();
  let scores = new Float64Array(0);
  const accumulator = new Float64Array(headDimensions);
  return (row, position, { keys, values, rowOf }) => {
    const start = Math.max(0, window === undefined ? 0 : position - window + 1);
    if (scores.length < position + 1) scores = new Float64Array(position + 1);
    for (let head = 0; head < heads; head++) {
      const queryBase = row * columns + head * headDimensions;
      const keyOffset = Math.floor(head / group) * headDimensions;
      let maximum = Number.NEGATIVE_INFINITY;
      for (let key = start; key <= position; key++) {
        const keyBase = rowOf(key) + keyOffset;
        let dot = 0;
        // Two loops, so that each reads one kind of array (f16 bit patterns through the table, or f32 values).
        if (keys instanceof Uint16Array) {
          for (let dimension = 0; dimension < headDimensions; dimension++)
            dot += query[queryBase + dimension]! * halves[keys[keyBase + dimension]!]!;
        } else {
          for (let dimension = 0; dimension < headDimensions; dimension++)
            dot += query[queryBase + dimension]! * keys[keyBase + dimension]!;
        }
        let score = dot * scale;
        if (softcap !== undefined) score = softcap * Math.tanh(score / softcap);
        scores[key] = score;
        if (score > maximum) maximum = score;
      }
      let total = 0;
      accumulator.fill(0);
      for (let key = start; key <= position; key++) {
        const weight = Math.exp(scores[key]! - maximum);
        total += weight;
        const valueBase = rowOf(key) + keyOffset;
        if (values instanceof Uint16Array) {
          for (let dimension = 0; dimension < headDimensions; dimension++)
            accumulator[dimension] = accumulator[dimension]! + weight * halves[values[valueBase + dimension]!]!;
        } else {
          for (let dimension = 0; dimension < headDimensions; dimension++)
            accumulator[dimension] = accumulator[dimension]! + weight * values[valueBase + dimension]!;
        }
      }
      for (let dimension = 0; dimension < headDimensions; dimension++)
        output[queryBase + dimension] = accumulator[dimension]! / total;
    }
  };
}
