// IQ4_NL and IQ4_XS: 4-bit indices into ggml's fixed non-linear codebook (facts from ggml-common.h).
import type { WeightShader } from './weight-shader.js';

// The 16 signed levels as packed bytes (levels 0-3, 4-7, 8-11, 12-15): a lookup in registers, no indexed memory.
const CODEBOOK = /* wgsl */ `
fn iq4_levels(index: vec4<u32>) -> vec4<f32> {
  let lower = select(vec4<u32>(0xbfad9881u), vec4<u32>(0xf6eaddcfu), index >= vec4<u32>(4u));
  let upper = select(vec4<u32>(0x26190d01u), vec4<u32>(0x71594535u), index >= vec4<u32>(12u));
  let word = select(lower, upper, index >= vec4<u32>(8u));
  let top = word << ((vec4<u32>(3u) - (index & vec4<u32>(3u))) * 8u);
  return vec4<f32>(bitcast<vec4<i32>>(top) >> vec4<u32>(24u));
}`;

/** IQ4_NL: f16 d, 16 nibble bytes laid out as Q4_0; x = level[q] · d. 18 bytes. */
export const IQ4_NL_SHADER: WeightShader = {
  type: 'IQ4_NL',
  unitColumns: 16,
  groups: 4,
  code: /* wgsl */ `${CODEBOOK}
fn unit_load(row: u32, unit: u32) -> array<vec4<f32>, 4> {
  let base = row + (unit >> 1u) * 18u;
  let d = f16_at(base);
  let quants = base + 2u + (unit & 1u) * 8u;
  let a = word_at(quants);
  let b = word_at(quants + 4u);
  return array<vec4<f32>, 4>(
    iq4_levels(low_nibbles_u(a)) * d, iq4_levels(low_nibbles_u(b)) * d,
    iq4_levels(high_nibbles_u(a)) * d, iq4_levels(high_nibbles_u(b)) * d);
}
fn unit_column(unit: u32, group: u32) -> u32 { return (unit >> 1u) * 32u + (unit & 1u) * 8u + (group & 1u) * 4u + (group >> 1u) * 16u; }
fn dequant4(row: u32, column: u32) -> vec4<f32> {
  let base = row + (column >> 5u) * 18u;
  let within = column & 31u;
  let word = word_at(base + 2u + (within & 15u));
  return iq4_levels(select(low_nibbles_u(word), high_nibbles_u(word), within >= 16u)) * f16_at(base);
}
`,
};

/**
 * IQ4_XS: f16 d, u16 of high scale bits, 4 bytes of low scale nibbles, 128 index bytes (8 sub-blocks of 32 laid out as
 * IQ4_NL). Sub-block scale d · (ls − 32) with a 6-bit ls. 136 bytes.
 */
export const IQ4_XS_SHADER: WeightShader = {
  type: 'IQ4_XS',
  unitColumns: 16,
  groups: 4,
  code: /* wgsl */ `${CODEBOOK}
fn iq4xs_scale(base: u32, sub: u32) -> f32 {
  let head = aligned_word(base);
  let lows = aligned_word(base + 4u);
  let level = ((lows >> (sub * 4u)) & 15u) | (((head >> (16u + sub * 2u)) & 3u) << 4u);
  return unpack2x16float(head).x * (f32(level) - 32.0);
}
fn unit_load(row: u32, unit: u32) -> array<vec4<f32>, 4> {
  let base = row + (unit >> 4u) * 136u;
  let sub = (unit >> 1u) & 7u;
  let quants = base + 8u + sub * 16u + (unit & 1u) * 8u;
  let a = aligned_word(quants);
  let b = aligned_word(quants + 4u);
  let scale = iq4xs_scale(base, sub);
  return array<vec4<f32>, 4>(
    iq4_levels(low_nibbles_u(a)) * scale, iq4_levels(low_nibbles_u(b)) * scale,
    iq4_levels(high_nibbles_u(a)) * scale, iq4_levels(high_nibbles_u(b)) * scale);
}
fn unit_column(unit: u32, group: u32) -> u32 { return (unit >> 1u) * 32u + (unit & 1u) * 8u + (group & 1u) * 4u + (group >> 1u) * 16u; }
fn dequant4(row: u32, column: u32) -> vec4<f32> {
  let base = row + (column >> 8u) * 136u;
  let element = column & 255u;
  let sub = element >> 5u;
  let within = element & 31u;
  let word = aligned_word(base + 8u + sub * 16u + (within & 15u));
  return iq4_levels(select(low_nibbles_u(word), high_nibbles_u(word), within >= 16u)) * iq4xs_scale(base, sub);
}
`,
};
