import { Q8_0_BLOCK_SIZE } from '@strata/core';
import { wgslFloatBits, wgslInt8QuantFunction } from '../../wgsl/int8-quantization-wgsl.js';

/**
 * WGSL: exact decoding of f16 bits and of q8_0 elements (the layout of `storageBytes` in core: quants, then each
 * row's f16 scales, one per 32 columns, two per word).
 * - `half_value(bits)`: the f16 value of the low 16 bits, exact for subnormals too (`unpack2x16float` may flush them).
 * - `q8_element(quant_word, column, scale_word)`: `q · d` of the quant at byte `column % 4` of `quant_word`, with the
 *   scale of the block of `column` from `scale_word` (the row's word `column / 64`).
 */
export const WGSL_Q8_READ = /* wgsl */ `
fn half_value(bits: u32) -> f32 {
  let exponent = (bits >> 10u) & 0x1fu;
  let mantissa = bits & 0x3ffu;
  var magnitude = f32(mantissa) * 5.9604644775390625e-8;
  if (exponent == 31u) { magnitude = bitcast<f32>(0x7f800000u | (mantissa << 13u)); }
  else if (exponent > 0u) { magnitude = bitcast<f32>(((exponent + 112u) << 23u) | (mantissa << 13u)); }
  return select(magnitude, -magnitude, (bits & 0x8000u) != 0u);
}
fn q8_element(quant_word: u32, column: u32, scale_word: u32) -> f32 {
  let quant = extractBits(bitcast<i32>(quant_word), (column & 3u) * 8u, 8u);
  return f32(quant) * half_value(extractBits(scale_word, ((column >> 5u) & 1u) * 16u, 16u));
}
`;

/**
 * WGSL: q8_0 quantization, bit for bit as the CPU reference (`KeyValueCache.precision` in core). Needs
 * `WGSL_ROUND_TO_HALF` and `WGSL_PACK_HALVES` (for `half_bits`) beside it.
 * - `q8_scale(amax)`: f16(fl32(amax · fl32(1/127))), as an f32 — a product, which WGSL rounds correctly (its division
 *   may be off by 2.5 ulp).
 * - `q8_quant(x, d)`: round(x / d), halves away from zero, clamped to ±127; 0 when d is 0. The rounded quotient of
 *   the GPU's division (which may be off by 2.5 ulp) is only a candidate: x is compared with the midpoints
 *   (q ± 1/2) · d, exact in f32 (9 bits times the 11 of d), and the candidate moved by one where it was wrong, so
 *   ties and near-ties land as on the CPU.
 * - `q8_pack(a, b, c, d)`: four quants as the bytes of one word, `a` lowest.
 */
export const WGSL_Q8_WRITE = /* wgsl */ `
fn q8_scale(amax: f32) -> f32 { return round_to_half(amax * bitcast<f32>(${wgslFloatBits(1 / 127)})); }
${wgslInt8QuantFunction('q8_quant')}
fn q8_pack(a: i32, b: i32, c: i32, d: i32) -> u32 {
  return (u32(a) & 0xffu) | ((u32(b) & 0xffu) << 8u) | ((u32(c) & 0xffu) << 16u) | ((u32(d) & 0xffu) << 24u);
}
`;

/**
 * WGSL expression (u32) of the index, in 32-bit words of a q8_0 cache tensor, of the word that holds the f16 scale of
 * `column`'s block in storage row `row`: every quant comes first (`capacity · width` bytes), then each row's scales, one
 * word (two blocks) per 64 columns (`storageBytes` in core). The one place that layout is written down for the
 * kernels; every argument is a WGSL u32 expression.
 */
export function q8ScaleWordIndex(capacity: string, width: string, row: string, column: string): string {
  const pair = 2 * Q8_0_BLOCK_SIZE;
  return `((${capacity} * ${width}) / 4u + ${row} * ((${width} + ${pair - 1}u) / ${pair}u) + ${column} / ${pair}u)`;
}

/**
 * WGSL statements that quantize one pair of q8_0 blocks (64 columns from `column`, or 32 at the end of an odd row)
 * of one row into the q8_0 tensor `target` at ring row `slot`. `source(offset)` is the WGSL expression of the value at
 * column `column + offset` (an expression of `offset: u32`); `column` (the pair's first column, a multiple of 64),
 * `slot`, `width` and `capacity` (the cache's rows) are WGSL expressions too. The statements write whole words only
 * (the blocks' quants and the pair's scale word), so invocations of different pairs never share a word.
 */
export function q8WritePairWgsl(
  target: string,
  source: (offset: string) => string,
  expressions: { readonly column: string; readonly slot: string; readonly width: string; readonly capacity: string },
): string {
  const { column, slot, width, capacity } = expressions;
  const B = Q8_0_BLOCK_SIZE;
  return /* wgsl */ `{
    var scale_word = 0u;
    for (var part = 0u; part < 2u; part++) {
      let first_column = ${column} + part * ${B}u;
      if (first_column >= ${width}) { break; }
      var block_values: array<f32, ${B}>;
      var amax = 0.0;
      for (var offset = part * ${B}u; offset < (part + 1u) * ${B}u; offset++) {
        let value = ${source('offset')};
        block_values[offset - part * ${B}u] = value;
        amax = max(amax, abs(value));
      }
      let d = q8_scale(amax);
      let word = (${slot} * ${width} + first_column) / 4u;
      for (var index = 0u; index < ${B / 4}u; index++) {
        ${target}[word + index] = q8_pack(q8_quant(block_values[4u * index], d),
          q8_quant(block_values[4u * index + 1u], d), q8_quant(block_values[4u * index + 2u], d),
          q8_quant(block_values[4u * index + 3u], d));
      }
      scale_word |= half_bits(d) << (16u * part);
    }
    ${target}[${q8ScaleWordIndex(capacity, width, slot, column)}] = scale_word;
  }`;
}
