import { Q8_0_BLOCK_SIZE } from '@strata/core';

/** The value of one IEEE half-precision bit pattern (exact). */
export function halfValue(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const mantissa = bits & 0x3ff;
  if (exponent === 0) return sign * mantissa * 2 ** -24;
  if (exponent === 31) return mantissa === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + mantissa / 1024) * 2 ** (exponent - 15);
}

/** IEEE half-precision bit patterns widened to f32 (exact). */
export function halvesToFloats(halves: Uint16Array): Float32Array {
  const values = new Float32Array(halves.length);
  for (let index = 0; index < halves.length; index++) values[index] = halfValue(halves[index]!);
  return values;
}

/**
 * The f32 values (`q · d`, exact) of a q8_0 tensor `[rows, columns]` from its bytes: the int8 quants, then each row's
 * f16 scales, one per 32 columns, padded to whole words (`storageBytes` in core).
 */
export function q8ToFloats(bytes: ArrayBuffer, rows: number, columns: number): Float32Array {
  const quants = new Int8Array(bytes, 0, rows * columns);
  const scales = new Uint16Array(bytes, rows * columns);
  const halvesPerRow = 2 * Math.ceil(columns / (2 * Q8_0_BLOCK_SIZE));
  const values = new Float32Array(rows * columns);
  for (let row = 0; row < rows; row++) {
    for (let column = 0; column < columns; column++) {
      const scale = halfValue(scales[row * halvesPerRow + Math.floor(column / Q8_0_BLOCK_SIZE)]!);
      values[row * columns + column] = quants[row * columns + column]! * scale;
    }
  }
  return values;
}
