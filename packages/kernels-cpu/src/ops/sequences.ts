import {
  type PoolSequencesOptions,
  type SelfAttentionOptions,
  StrataError,
  type Tensor,
  validateSequenceBatch,
} from '@strata/core';
import { expectShape, floatData, fromData, matrixShape } from '../cpu-tensor.js';

/**
 * Attention of a position-major padded batch over its own keys and values: the query of sequence s at position p sees
 * the keys of s at positions k < lengths[s] (and k ≤ p when causal). Scores and sums in f64.
 */
export function selfAttention(queries: Tensor, keys: Tensor, values: Tensor, options: SelfAttentionOptions): Tensor {
  const query = floatData(queries, 'selfAttention');
  const key = floatData(keys, 'selfAttention');
  const value = floatData(values, 'selfAttention');
  const { heads, keyValueHeads, headDimensions, scale, causal, lengths } = options;
  const { rows, columns } = matrixShape(queries.shape);
  const width = keyValueHeads * headDimensions;
  expectShape(
    heads > 0 && keyValueHeads > 0 && headDimensions > 0 && heads % keyValueHeads === 0,
    `selfAttention: ${heads} query heads are not a multiple of ${keyValueHeads} key/value heads.`,
  );
  expectShape(
    columns === heads * headDimensions,
    `selfAttention: queries have ${columns} columns; ${heads} heads of ${headDimensions} need ${heads * headDimensions}.`,
  );
  expectShape(
    key.length === rows * width && value.length === rows * width,
    `selfAttention: keys [${keys.shape.join(', ')}] and values [${values.shape.join(', ')}] must both be [${rows}, ${width}].`,
  );
  const { sequences } = validateSequenceBatch(rows, options, 'selfAttention');
  const group = heads / keyValueHeads;
  const output = new Float32Array(rows * columns);
  const scores = new Float64Array(rows / sequences);
  const accumulator = new Float64Array(headDimensions);
  for (let row = 0; row < rows; row++) {
    const sequence = row % sequences;
    const position = Math.floor(row / sequences);
    const length = lengths[sequence] as number;
    const visible = causal ? Math.min(position + 1, length) : length;
    for (let head = 0; head < heads; head++) {
      const queryBase = row * columns + head * headDimensions;
      const keyOffset = Math.floor(head / group) * headDimensions;
      let maximum = Number.NEGATIVE_INFINITY;
      for (let k = 0; k < visible; k++) {
        const keyBase = (k * sequences + sequence) * width + keyOffset;
        let dot = 0;
        for (let d = 0; d < headDimensions; d++) dot += query[queryBase + d]! * key[keyBase + d]!;
        const score = dot * scale;
        scores[k] = score;
        if (score > maximum) maximum = score;
      }
      let total = 0;
      accumulator.fill(0);
      for (let k = 0; k < visible; k++) {
        const weight = Math.exp(scores[k]! - maximum);
        total += weight;
        const valueBase = (k * sequences + sequence) * width + keyOffset;
        for (let d = 0; d < headDimensions; d++) accumulator[d] = accumulator[d]! + weight * value[valueBase + d]!;
      }
      for (let d = 0; d < headDimensions; d++) output[queryBase + d] = accumulator[d]! / total;
    }
  }
  return fromData(output, queries.shape);
}

/** One row per sequence: the mean of its real rows, its first row or its last real row (sums in f64). */
export function poolSequences(hidden: Tensor, options: PoolSequencesOptions): Tensor {
  const data = floatData(hidden, 'poolSequences');
  const { rows, columns } = matrixShape(hidden.shape);
  const { sequences } = validateSequenceBatch(rows, options, 'poolSequences');
  if (!['mean', 'first', 'last'].includes(options.pooling)) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `poolSequences: pooling must be 'mean', 'first' or 'last'; got ${String(options.pooling)}.`,
    );
  }
  const output = new Float32Array(sequences * columns);
  const sum = new Float64Array(columns);
  for (let sequence = 0; sequence < sequences; sequence++) {
    const length = options.lengths[sequence] as number;
    const target = sequence * columns;
    if (options.pooling === 'mean') {
      sum.fill(0);
      for (let position = 0; position < length; position++) {
        const base = (position * sequences + sequence) * columns;
        for (let column = 0; column < columns; column++) sum[column] = sum[column]! + data[base + column]!;
      }
      for (let column = 0; column < columns; column++) output[target + column] = sum[column]! / length;
    } else {
      const position = options.pooling === 'first' ? 0 : length - 1;
      const base = (position * sequences + sequence) * columns;
      output.set(data.subarray(base, base + columns), target);
    }
  }
  return fromData(output, [sequences, columns]);
}

/** x / max(‖x‖₂, epsilon) per row. */
export function l2Normalize(input: Tensor, epsilon: number): Tensor {
  const data = floatData(input, 'l2Normalize');
  const { rows, columns } = matrixShape(input.shape);
  if (!(epsilon >= 0)) {
    throw new StrataError('INVALID_ARGUMENT', `l2Normalize needs a non-negative epsilon, got ${epsilon}.`);
  }
  const output = new Float32Array(data.length);
  for (let row = 0; row < rows; row++) {
    const base = row * columns;
    let squares = 0;
    for (let column = 0; column < columns; column++) squares += data[base + column]! ** 2;
    const inverse = 1 / Math.max(Math.sqrt(squares), epsilon);
    for (let column = 0; column < columns; column++) output[base + column] = data[base + column]! * inverse;
  }
  return fromData(output, input.shape);
}
