import type { AttentionOptions, KeyValueCache, RopeParameters, Tensor } from '@strata/core';
import { Q8_0_BLOCK_SIZE, StrataError } from '@strata/core';
import { expectShape, floatData, fromData, matrixShape } from '../cpu-tensor.js';
import { floatToHalf, halfTable16 } from '../quant/half.js';
import { quantizeQ8Row } from '../quant/q8-cache.js';
import { cachedRows, cacheStorage } from './cache-storage.js';

/**
 * Rotary embedding at positions `firstPosition + row`. The angle is rounded to f32 (position · inverse frequency in
 * f32, as PyTorch and llama.cpp compute it) before cos/sin in f64; cos and sin are multiplied by the attention factor;
 * dimensions past `rotaryDimensions` pass through unchanged.
 */
export function rope(input: Tensor, firstPosition: number, parameters: RopeParameters): Tensor {
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
    const position = firstPosition + row;
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
 * exactly (`'f32'`), rounded to half precision (`'f16'`) or quantized into q8_0 blocks (`'q8_0'`, see
 * `KeyValueCache.precision`).
 */
export function writeKeyValues(cache: KeyValueCache, keys: Tensor, values: Tensor, firstPosition: number): void {
  const target = cacheStorage(cache, 'writeKeyValues');
  const newKeys = floatData(keys, 'writeKeyValues');
  const newValues = floatData(values, 'writeKeyValues');
  const { rows, columns } = matrixShape(keys.shape);
  expectShape(
    columns === target.width && keys.shape.length === values.shape.length && newKeys.length === newValues.length,
    `writeKeyValues: keys [${keys.shape.join(', ')}] and values [${values.shape.join(', ')}] must both be [rows, ${target.width}].`,
  );
  if (!(Number.isInteger(firstPosition) && firstPosition >= 0)) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `writeKeyValues needs a non-negative integer position, got ${firstPosition}.`,
    );
  }
  const { precision, layout } = target;
  for (let row = 0; row < rows; row++) {
    const slot = (firstPosition + row) % target.capacity;
    if (layout !== undefined) {
      quantizeQ8Row(newKeys, row * columns, target.keys.storage.data as Uint8Array, layout, slot);
      quantizeQ8Row(newValues, row * columns, target.values.storage.data as Uint8Array, layout, slot);
      continue;
    }
    const rowKeys = newKeys.subarray(row * columns, (row + 1) * columns);
    const rowValues = newValues.subarray(row * columns, (row + 1) * columns);
    const cacheKeys = target.keys.storage.data as Float32Array;
    const cacheValues = target.values.storage.data as Float32Array;
    cacheKeys.set(precision === 'f16' ? roundToHalf(rowKeys) : rowKeys, slot * target.width);
    cacheValues.set(precision === 'f16' ? roundToHalf(rowValues) : rowValues, slot * target.width);
  }
}

/** Each value rounded to the nearest half-precision value (ties to even), as an f16 cache stores it. */
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
  const { heads, keyValueHeads, headDimensions, firstPosition, scale, window, softcap } = options;
  const { rows, columns } = matrixShape(queries.shape);
  expectShape(
    heads > 0 && keyValueHeads > 0 && heads % keyValueHeads === 0,
    `attention: ${heads} query heads are not a multiple of ${keyValueHeads} key/value heads.`,
  );
  expectShape(
    columns === heads * headDimensions,
    `attention: queries have ${columns} columns; ${heads} heads of ${headDimensions} need ${heads * headDimensions}.`,
  );
  expectShape(
    width === keyValueHeads * headDimensions,
    `attention: the cache rows have ${width} columns; ${keyValueHeads} key/value heads of ${headDimensions} need ${keyValueHeads * headDimensions}.`,
  );
  if (storage.precision === 'q8_0' && headDimensions % Q8_0_BLOCK_SIZE !== 0) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `attention: a q8_0 cache needs heads of a multiple of ${Q8_0_BLOCK_SIZE} dimensions (its blocks lie within a head), got ${headDimensions}; use an f16 or f32 cache.`,
      { details: { headDimensions } },
    );
  }
  if (window !== undefined && !(Number.isInteger(window) && window > 0)) {
    throw new StrataError('INVALID_ARGUMENT', `attention needs a positive integer window, got ${window}.`);
  }
  if (softcap !== undefined && !(softcap > 0)) {
    throw new StrataError('INVALID_ARGUMENT', `attention needs a positive softcap (or none), got ${softcap}.`);
  }
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
  const { keys, values, rowOf } = cachedRows(storage, firstNeeded, lastPosition);
  const group = heads / keyValueHeads;
  const output = new Float32Array(rows * columns);
  const scores = new Float64Array(lastPosition + 1);
  const accumulator = new Float64Array(headDimensions);
  for (let row = 0; row < rows; row++) {
    const position = firstPosition + row;
    const start = Math.max(0, window === undefined ? 0 : position - window + 1);
    for (let head = 0; head < heads; head++) {
      const queryBase = row * columns + head * headDimensions;
      const keyOffset = Math.floor(head / group) * headDimensions;
      let maximum = Number.NEGATIVE_INFINITY;
      for (let key = start; key <= position; key++) {
        const keyBase = rowOf(key) + keyOffset;
        let dot = 0;
        for (let dimension = 0; dimension < headDimensions; dimension++)
          dot += query[queryBase + dimension]! * keys[keyBase + dimension]!;
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
        for (let dimension = 0; dimension < headDimensions; dimension++)
          accumulator[dimension] = accumulator[dimension]! + weight * values[valueBase + dimension]!;
      }
      for (let dimension = 0; dimension < headDimensions; dimension++)
        output[queryBase + dimension] = accumulator[dimension]! / total;
    }
  }
  return fromData(output, queries.shape);
}
