import { bfloat16ToFloat, halfTable16 } from './half.js';

/**
 * Decodes `count` consecutive elements of a plain float type starting at `byteOffset` into `output[outputOffset…]`.
 * These types have blocks of one element.
 */
export function dequantizeF32(
  source: Uint8Array,
  byteOffset: number,
  output: Float32Array,
  outputOffset: number,
  count: number,
): void {
  const start = source.byteOffset + byteOffset;
  if (start % 4 === 0) {
    output.set(new Float32Array(source.buffer, start, count), outputOffset);
    return;
  }
  const view = new DataView(source.buffer, start, count * 4);
  for (let index = 0; index < count; index++) output[outputOffset + index] = view.getFloat32(index * 4, true);
}

/** Decodes f16 elements (see {@link dequantizeF32}). */
export function dequantizeF16(
  source: Uint8Array,
  byteOffset: number,
  output: Float32Array,
  outputOffset: number,
  count: number,
): void {
  const table = halfTable16();
  for (let index = 0, byte = byteOffset; index < count; index++, byte += 2) {
    output[outputOffset + index] = table[source[byte]! | (source[byte + 1]! << 8)]!;
  }
}

/** Decodes bfloat16 elements (see {@link dequantizeF32}). */
export function dequantizeBF16(
  source: Uint8Array,
  byteOffset: number,
  output: Float32Array,
  outputOffset: number,
  count: number,
): void {
  for (let index = 0, byte = byteOffset; index < count; index++, byte += 2) {
    output[outputOffset + index] = bfloat16ToFloat(source[byte]! | (source[byte + 1]! << 8));
  }
}
