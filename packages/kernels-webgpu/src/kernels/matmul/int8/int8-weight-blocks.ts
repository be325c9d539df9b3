import type { WeightType } from '@strata/core';
import { SCALE_MIN_WGSL } from '../../../wgsl/dequantize/k-quants.js';
import { WGSL_Q8_READ } from '../../attention/q8-cache-wgsl.js';

/** Weight types the int8 GEMM reads: their quants are 8-bit (Q8_0) or become 8-bit (Q4_K's nibbles, 0…15). */
export type Int8WeightType = 'Q8_0' | 'Q4_K';

/** Whether the int8 GEMM reads weights of `type`. */
export function isInt8WeightType(type: WeightType): type is Int8WeightType {
  return type === 'Q8_0' || type === 'Q4_K';
}

/**
 * WGSL reading a weight as blocks of 32 columns with 8-bit quants, for the int8 GEMM kernels. Over the global
 * `weights: array<u32>`, for the row starting at byte `row_byte` of the bound chunk:
 * - `fn block_quants(row_byte: u32, block: u32, half: u32) -> vec4<u32>`: the 16 quants of columns
 *   `32 · block + 16 · half …` packed 4 per word, lowest byte first, as signed 8-bit values;
 * - `fn block_scale(row_byte: u32, block: u32) -> vec2<f32>`: `(d, m)` of the block, the weight being `d · q − m`.
 *
 * Q8_0 (34-byte blocks: f16 d, 32 int8 quants; quants start 2 bytes past a word boundary in every other block):
 * `(d, 0)`, the quants read as whole words and shifted by 16 bits where misaligned. Q4_K (144-byte super-blocks of 8
 * sub-blocks): `(d · scale, dmin · min)` with the six-bit scale and min of the sub-block (`SCALE_MIN_WGSL`), the f32
 * products of the f16 d/dmin and the integers; quants are the nibbles of the sub-block's 64-column group (low nibbles:
 * even sub-blocks, high: odd), widened to bytes 0…15. f16 values are decoded exactly (`half_value`, subnormals too).
 */
export function int8WeightReaderWgsl(type: Int8WeightType): string {
  if (type === 'Q8_0') {
    return /* wgsl */ `${WGSL_Q8_READ}
fn block_quants(row_byte: u32, block: u32, half: u32) -> vec4<u32> {
  let byte = row_byte + block * 34u + 2u + half * 16u;
  let index = byte >> 2u;
  let w0 = weights[index];
  let w1 = weights[index + 1u];
  let w2 = weights[index + 2u];
  let w3 = weights[index + 3u];
  if ((byte & 2u) == 0u) { return vec4<u32>(w0, w1, w2, w3); }
  let w4 = weights[index + 4u];
  return vec4<u32>((w0 >> 16u) | (w1 << 16u), (w1 >> 16u) | (w2 << 16u), (w2 >> 16u) | (w3 << 16u),
    (w3 >> 16u) | (w4 << 16u));
}
fn block_scale(row_byte: u32, block: u32) -> vec2<f32> {
  let byte = row_byte + block * 34u;
  return vec2<f32>(half_value(extractBits(weights[byte >> 2u], (byte & 2u) * 8u, 16u)), 0.0);
}
`;
  }
  return /* wgsl */ `${WGSL_Q8_READ}${SCALE_MIN_WGSL}
fn block_quants(row_byte: u32, block: u32, half: u32) -> vec4<u32> {
  let sub = block & 7u;
  let first = (row_byte + (block >> 3u) * 144u + 16u + (sub >> 1u) * 32u + half * 16u) >> 2u;
  let words = vec4<u32>(weights[first], weights[first + 1u], weights[first + 2u], weights[first + 3u]);
  return (words >> vec4<u32>((sub & 1u) * 4u)) & vec4<u32>(0x0f0f0f0fu);
}
fn block_scale(row_byte: u32, block: u32) -> vec2<f32> {
  let word = (row_byte + (block >> 3u) * 144u) >> 2u;
  let dm = weights[word];
  let sm = scale_min(weights[word + 1u], weights[word + 2u], weights[word + 3u], block & 7u);
  return vec2<f32>(half_value(dm & 0xffffu) * sm.x, half_value(dm >> 16u) * sm.y);
}
`;
}
