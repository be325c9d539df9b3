import type { Backend, WeightTensor } from '@strata/core';

/** A deterministic pseudo-random generator (tests only). */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32 - 0.5;
  };
}

/** A row-major matrix of random values. */
export function randomMatrix(random: () => number, rows: number, columns: number, scale = 1): number[][] {
  return Array.from({ length: rows }, () => Array.from({ length: columns }, () => random() * scale));
}

/** Uploads a host matrix `[rows, columns]` (or vector) as an F32 weight. */
export function uploadF32(backend: Backend, values: number[][] | number[], name = 'w'): Promise<WeightTensor> {
  const rows = values as unknown[];
  const matrix = Array.isArray(rows[0]);
  const flat = Float32Array.from((matrix ? (values as number[][]).flat() : (values as number[])) as number[]);
  const shape = matrix ? [rows.length, (values as number[][])[0]?.length ?? 0] : [flat.length];
  return backend.uploadWeight({ name, type: 'F32', shape }, new Uint8Array(flat.buffer));
}

/** `input` `[rows, in]` times `weight` `[out, in]` transposed. */
export function matmul(input: number[][], weight: number[][], bias?: number[]): number[][] {
  return input.map((row) =>
    weight.map((weightRow, outputIndex) =>
      weightRow.reduce((sum, value, index) => sum + value * (row[index] as number), bias?.[outputIndex] ?? 0),
    ),
  );
}

/** RMSNorm of each row. */
export function rmsNorm(input: number[][], weight: number[], epsilon: number): number[][] {
  return input.map((row) => {
    const scale = 1 / Math.sqrt(row.reduce((sum, value) => sum + value * value, 0) / row.length + epsilon);
    return row.map((value, index) => value * scale * (weight[index] as number));
  });
}

/** Half-split RoPE of each head of each row at positions first + row. */
export function ropeHalfSplit(
  input: number[][],
  headDimensions: number,
  inverseFrequencies: ArrayLike<number>,
  first: number,
): number[][] {
  const half = headDimensions / 2;
  return input.map((row, rowIndex) => {
    const out = [...row];
    for (let head = 0; head < row.length / headDimensions; head++) {
      for (let i = 0; i < half; i++) {
        const angle = (first + rowIndex) * (inverseFrequencies[i] as number);
        const firstHalf = row[head * headDimensions + i] as number;
        const secondHalf = row[head * headDimensions + i + half] as number;
        out[head * headDimensions + i] = firstHalf * Math.cos(angle) - secondHalf * Math.sin(angle);
        out[head * headDimensions + i + half] = firstHalf * Math.sin(angle) + secondHalf * Math.cos(angle);
      }
    }
    return out;
  });
}

/** Causal grouped-query attention over all rows (positions first + row), optional window. */
export function causalAttention(
  queries: number[][],
  keys: number[][],
  values: number[][],
  geometry: { heads: number; keyValueHeads: number; headDimensions: number; scale: number; window?: number },
): number[][] {
  const { heads, keyValueHeads, headDimensions, scale, window } = geometry;
  const group = heads / keyValueHeads;
  return queries.map((query, position) => {
    const out: number[] = [];
    for (let head = 0; head < heads; head++) {
      const kv = Math.floor(head / group);
      const visible = keys
        .map((key, index) => ({ key, index }))
        .filter(({ index }) => index <= position && (window === undefined || index > position - window));
      const scores = visible.map(({ key }) => {
        let dot = 0;
        for (let d = 0; d < headDimensions; d++)
          dot += (query[head * headDimensions + d] as number) * (key[kv * headDimensions + d] as number);
        return dot * scale;
      });
      const maximum = Math.max(...scores);
      const weights = scores.map((score) => Math.exp(score - maximum));
      const total = weights.reduce((sum, weight) => sum + weight, 0);
      for (let d = 0; d < headDimensions; d++) {
        out.push(
          visible.reduce(
            (sum, { index }, slot) =>
              sum +
              ((weights[slot] as number) / total) * ((values[index] as number[])[kv * headDimensions + d] as number),
            0,
          ),
        );
      }
    }
    return out;
  });
}
