import type { WeightType } from '@strata/core';

/**
 * The WGSL that reads one weight type, for the kernels that dequantize weights on the fly.
 *
 * Every snippet reads the global `weights: array<u32>` (the file's bytes as little-endian words; blocks need not be
 * word-aligned) and defines, for a row of the weight matrix starting at byte `row` of the bound buffer:
 * - `fn unit_load(row: u32, unit: u32) -> array<vec4<f32>, GROUPS>`: the values of work unit `unit` of the row, the
 *   streaming entry of the mat-vec kernels. A unit is the natural grain of the format (a few bytes of quants with their
 *   scales); its values come as `GROUPS` groups of 4 consecutive columns.
 * - `fn unit_column(unit: u32, group: u32) -> u32`: the first column of group `group` of unit `unit`.
 * - `fn dequant4(row: u32, column: u32) -> vec4<f32>`: the 4 values at columns `column … column + 3` (`column` a multiple
 *   of 4), the random-access entry of the tiled mat-mul and the embedding gather.
 */
export interface WeightShader {
  /** The weight type. */
  readonly type: WeightType;
  /** Columns one unit covers. Rows hold `ceil(columns / unitColumns)` units (block types: exactly). */
  readonly unitColumns: number;
  /** Groups of 4 columns per unit (`unitColumns / 4`). */
  readonly groups: number;
  /** The WGSL functions (they need {@link weightHelpers} before them). */
  readonly code: string;
}

/**
 * Word access helpers over `weights`. `word_at` reads 4 bytes at any byte offset (two words and a funnel shift, or one
 * word when the caller proves alignment: `WORD_ALIGNED`). `f16_at` needs an even offset.
 */
export function weightHelpers(wordAligned: boolean): string {
  const wordAt = wordAligned
    ? 'fn word_at(byte: u32) -> u32 { return weights[byte >> 2u]; }'
    : `fn word_at(byte: u32) -> u32 {
  let index = byte >> 2u;
  let shift = (byte & 3u) * 8u;
  let low = weights[index];
  let high = weights[index + 1u];
  return select((low >> shift) | (high << ((32u - shift) & 31u)), low, shift == 0u);
}`;
  return `${wordAt}
fn aligned_word(byte: u32) -> u32 { return weights[byte >> 2u]; }
fn byte_at(byte: u32) -> u32 { return (weights[byte >> 2u] >> ((byte & 3u) * 8u)) & 0xffu; }
fn f16_at(byte: u32) -> f32 { return unpack2x16float(weights[byte >> 2u] >> ((byte & 2u) * 8u)).x; }
fn low_nibbles_u(word: u32) -> vec4<u32> { return vec4<u32>(word, word >> 8u, word >> 16u, word >> 24u) & vec4<u32>(15u); }
fn high_nibbles_u(word: u32) -> vec4<u32> { return vec4<u32>(word >> 4u, word >> 12u, word >> 20u, word >> 28u) & vec4<u32>(15u); }
fn low_nibbles(word: u32) -> vec4<f32> { return vec4<f32>(low_nibbles_u(word)); }
fn high_nibbles(word: u32) -> vec4<f32> { return vec4<f32>(high_nibbles_u(word)); }
fn pairs_of(word: u32, shift: u32) -> vec4<f32> {
  return vec4<f32>(vec4<u32>(word >> shift, word >> (shift + 8u), word >> (shift + 16u), word >> (shift + 24u)) & vec4<u32>(3u));
}
fn bit4(word: u32, first: u32) -> vec4<f32> {
  return vec4<f32>((vec4<u32>(word) >> (vec4<u32>(first) + vec4<u32>(0u, 1u, 2u, 3u))) & vec4<u32>(1u));
}
fn signed_bytes(word: u32) -> vec4<f32> {
  return vec4<f32>(vec4<i32>(bitcast<i32>(word << 24u), bitcast<i32>(word << 16u), bitcast<i32>(word << 8u), bitcast<i32>(word)) >> vec4<u32>(24u));
}
fn bytes_of(word: u32) -> vec4<u32> { return vec4<u32>(word, word >> 8u, word >> 16u, word >> 24u) & vec4<u32>(255u); }
fn bits_of(word: u32, shift: u32) -> vec4<f32> {
  return vec4<f32>(vec4<u32>(word >> shift, word >> (shift + 8u), word >> (shift + 16u), word >> (shift + 24u)) & vec4<u32>(1u));
}
fn pick_byte(a: u32, b: u32, c: u32, index: u32) -> u32 {
  let word = select(select(a, b, index >= 4u), c, index >= 8u);
  return (word >> ((index & 3u) * 8u)) & 0xffu;
}
`;
}
