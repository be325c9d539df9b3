import type { ExpertRouting, ExpertRoutingOptions, Tensor } from '@strata/core';
import { StrataError } from '@strata/core';
import { expectShape, floatData, fromData, matrixShape } from '../cpu-tensor.js';

/**
 * Softmax over each row of router logits, then the `topK` most probable experts, best first (ties: lower id first).
 * Weights are the chosen softmax probabilities, divided by their sum when `normalize` is set.
 */
export function routeExperts(logits: Tensor, options: ExpertRoutingOptions): ExpertRouting {
  const data = floatData(logits, 'routeExperts');
  const { rows, columns: experts } = matrixShape(logits.shape);
  const { topK, normalize } = options;
  if (!(Number.isInteger(topK) && topK >= 1 && topK <= experts)) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `routeExperts: topK ${topK} must be between 1 and the ${experts} experts.`,
    );
  }
  const chosen = new Int32Array(rows * topK);
  const weights = new Float32Array(rows * topK);
  const probabilities = new Float64Array(experts);
  const order = new Int32Array(experts);
  for (let row = 0; row < rows; row++) {
    const base = row * experts;
    let maximum = Number.NEGATIVE_INFINITY;
    for (let expert = 0; expert < experts; expert++) maximum = Math.max(maximum, data[base + expert]!);
    let sum = 0;
    for (let expert = 0; expert < experts; expert++) {
      probabilities[expert] = Math.exp(data[base + expert]! - maximum);
      sum += probabilities[expert]!;
      order[expert] = expert;
    }
    // Partial selection sort: k passes, each picking the best remaining (first index on ties).
    for (let slot = 0; slot < topK; slot++) {
      let best = slot;
      for (let candidate = slot + 1; candidate < experts; candidate++) {
        const candidateExpert = order[candidate]!;
        const bestExpert = order[best]!;
        if (
          probabilities[candidateExpert]! > probabilities[bestExpert]! ||
          (probabilities[candidateExpert] === probabilities[bestExpert] && candidateExpert < bestExpert)
        )
          best = candidate;
      }
      const swap = order[slot]!;
      order[slot] = order[best]!;
      order[best] = swap;
    }
    let chosenSum = 0;
    for (let slot = 0; slot < topK; slot++) chosenSum += probabilities[order[slot]!]! / sum;
    for (let slot = 0; slot < topK; slot++) {
      const expert = order[slot]!;
      const probability = probabilities[expert]! / sum;
      chosen[row * topK + slot] = expert;
      weights[row * topK + slot] = normalize ? probability / chosenSum : probability;
    }
  }
  return { experts: fromData(chosen, [rows, topK]), weights: fromData(weights, [rows, topK]) };
}

/** Per row, Σ over slots of weights[r, s] · slots[r · topK + s]. */
export function combineExperts(slots: Tensor, weights: Tensor): Tensor {
  const slotData = floatData(slots, 'combineExperts');
  const weightData = floatData(weights, 'combineExperts');
  expectShape(
    weights.shape.length === 2,
    `combineExperts needs weights [rows, topK]; got [${weights.shape.join(', ')}].`,
  );
  const [rows, topK] = weights.shape as [number, number];
  const { rows: slotRows, columns } = matrixShape(slots.shape);
  expectShape(
    slotRows === rows * topK,
    `combineExperts: slots [${slots.shape.join(', ')}] must have rows · topK = ${rows * topK} rows for weights [${rows}, ${topK}].`,
  );
  const output = new Float32Array(rows * columns);
  const accumulator = new Float64Array(columns);
  for (let row = 0; row < rows; row++) {
    accumulator.fill(0);
    for (let slot = 0; slot < topK; slot++) {
      const weight = weightData[row * topK + slot]!;
      const base = (row * topK + slot) * columns;
      for (let column = 0; column < columns; column++)
        accumulator[column] = accumulator[column]! + weight * slotData[base + column]!;
    }
    output.set(accumulator, row * columns);
  }
  return fromData(output, [rows, columns]);
}

/** Index of the largest value per row (first on ties; NaN never wins unless the row is all NaN, then 0). */
export function argmax(input: Tensor): Tensor {
  const data = floatData(input, 'argmax');
  const { rows, columns } = matrixShape(input.shape);
  const output = new Int32Array(rows);
  for (let row = 0; row < rows; row++) output[row] = argmaxRow(data, row * columns, columns);
  return fromData(output, [rows]);
}

/** Index (relative to `offset`) of the largest of `length` values; first on ties. */
export function argmaxRow(data: ArrayLike<number>, offset: number, length: number): number {
  let best = 0;
  let bestValue = Number.NEGATIVE_INFINITY;
  let found = false;
  for (let index = 0; index < length; index++) {
    const value = data[offset + index]!;
    if (value > bestValue || (!found && value === bestValue)) {
      best = index;
      bestValue = value;
      found = true;
    }
  }
  return best;
}
