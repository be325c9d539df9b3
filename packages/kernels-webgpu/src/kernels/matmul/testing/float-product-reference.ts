/**
 * `input · weightsᵀ (+ bias)` in float64: `input` `[rows, columns]`, `weights` `[out, columns]`, both row-major, and
 * per output the sum of the magnitudes of its terms (bias included), the scale a float32 result's error is judged by.
 */
export function floatProductReference(
  input: Float32Array,
  weights: Float32Array,
  rows: number,
  out: number,
  columns: number,
  bias?: Float32Array,
): { result: Float64Array; magnitude: Float64Array } {
  const result = new Float64Array(rows * out);
  const magnitude = new Float64Array(rows * out);
  for (let r = 0; r < rows; r++) {
    for (let o = 0; o < out; o++) {
      let sum = bias?.[o] ?? 0;
      let size = Math.abs(sum);
      for (let c = 0; c < columns; c++) {
        const product = input[r * columns + c]! * weights[o * columns + c]!;
        sum += product;
        size += Math.abs(product);
      }
      result[r * out + o] = sum;
      magnitude[r * out + o] = size;
    }
  }
  return { result, magnitude };
}
