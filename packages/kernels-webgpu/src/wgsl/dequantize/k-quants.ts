// The 256-element "K" super-block types (facts from ggml-common.h / ggml-quants.c: field order, sizes, scale packing).
// One unit is 16 elements whose quants share one or two 32-bit words: 16 units per super-block.
import type { WeightShader } from './weight-shader.js';

// Q2_K and Q3_K (and Q6_K per 128-half) pack element l + 32·j of a half into bits 2j of quant byte l: one quant word
// at byte l = 4i of half h covers columns 128h + 32j + 4i + 0…3 for j = 0…3.
const CROSSWISE_COLUMN = /* wgsl */ `
fn unit_column(unit: u32, group: u32) -> u32 { return (unit >> 4u) * 256u + ((unit >> 3u) & 1u) * 128u + group * 32u + (unit & 7u) * 4u; }`;

// Q4_K and Q5_K: 64-element groups g of 32 quant bytes, low nibbles sub-block 2g, high nibbles sub-block 2g + 1.
const PAIRED_COLUMN = /* wgsl */ `
fn unit_column(unit: u32, group: u32) -> u32 {
  return (unit >> 4u) * 256u + ((unit >> 2u) & 3u) * 64u + (unit & 3u) * 8u + (group & 1u) * 4u + (group >> 1u) * 32u;
}`;

/**
 * WGSL `scale_min(s0, s1, s2, index) -> vec2<f32>`: the six-bit scale and min of sub-block `index` (0…7) of a Q4_K /
 * Q5_K super-block, whose 12 scale bytes (the words s0, s1, s2) hold 8 six-bit scales and 8 six-bit minima. The one
 * source of the function: these readers and the Q4_K one-row kernels (`q4k-matvec-shader.ts`) use it.
 */
export const SCALE_MIN_WGSL = /* wgsl */ `// Six-bit scale and min of sub-block index (0…7) from the 12 scale bytes (words s0, s1, s2).
fn scale_min(s0: u32, s1: u32, s2: u32, index: u32) -> vec2<f32> {
  let shift = (index & 3u) * 8u;
  let a = (s0 >> shift) & 0xffu;
  let b = (s1 >> shift) & 0xffu;
  let c = (s2 >> shift) & 0xffu;
  let low = vec2<u32>(a & 63u, b & 63u);
  let high = vec2<u32>((c & 15u) | ((a >> 6u) << 4u), (c >> 4u) | ((b >> 6u) << 4u));
  return vec2<f32>(select(high, low, index < 4u));
}`;

/** Q2_K: 16 scale bytes (low nibble scale, high nibble min), 64 quant bytes of 2-bit quants, f16 d, f16 dmin. 84 bytes. */
export const Q2_K_SHADER: WeightShader = {
  type: 'Q2_K',
  unitColumns: 16,
  groups: 4,
  code: /* wgsl */ `
fn unit_load(row: u32, unit: u32) -> array<vec4<f32>, 4> {
  let base = row + (unit >> 4u) * 84u;
  let half = (unit >> 3u) & 1u;
  let i = unit & 7u;
  let quants = aligned_word(base + 16u + half * 32u + i * 4u);
  let scales0 = aligned_word(base + half * 8u);
  let scales1 = aligned_word(base + half * 8u + 4u);
  let dm = unpack2x16float(aligned_word(base + 80u));
  let shift = (i >> 2u) * 8u;
  let s = vec4<u32>(scales0 >> shift, scales0 >> (shift + 16u), scales1 >> shift, scales1 >> (shift + 16u));
  let scale = vec4<f32>(s & vec4<u32>(15u)) * dm.x;
  let minimum = vec4<f32>((s >> vec4<u32>(4u)) & vec4<u32>(15u)) * dm.y;
  return array<vec4<f32>, 4>(
    pairs_of(quants, 0u) * scale.x - minimum.x,
    pairs_of(quants, 2u) * scale.y - minimum.y,
    pairs_of(quants, 4u) * scale.z - minimum.z,
    pairs_of(quants, 6u) * scale.w - minimum.w);
}${CROSSWISE_COLUMN}
fn dequant4(row: u32, column: u32) -> vec4<f32> {
  let base = row + (column >> 8u) * 84u;
  let element = column & 255u;
  let half = element >> 7u;
  let j = (element >> 5u) & 3u;
  let l = element & 31u;
  let dm = unpack2x16float(aligned_word(base + 80u));
  let s = byte_at(base + half * 8u + j * 2u + (l >> 4u));
  return pairs_of(aligned_word(base + 16u + half * 32u + l), j * 2u) * (f32(s & 15u) * dm.x) - f32(s >> 4u) * dm.y;
}
`,
};

/**
 * Q3_K: 32 bytes of high-bit masks, 64 bytes of 2-bit quants, 12 bytes of 16 six-bit scales, f16 d. 110 bytes.
 * x = d · (scale − 32) · (q − (high bit ? 0 : 4)).
 */
export const Q3_K_SHADER: WeightShader = {
  type: 'Q3_K',
  unitColumns: 16,
  groups: 4,
  code: /* wgsl */ `
fn q3_scale(a: u32, b: u32, c: u32, index: u32) -> f32 {
  let low = select(pick_byte(a, b, c, index - 8u) >> 4u, pick_byte(a, b, c, index) & 15u, index < 8u);
  let high = (pick_byte(a, b, c, 8u + (index & 3u)) >> ((index >> 2u) * 2u)) & 3u;
  return f32(i32(low | (high << 4u)) - 32);
}
fn unit_load(row: u32, unit: u32) -> array<vec4<f32>, 4> {
  let base = row + (unit >> 4u) * 110u;
  let half = (unit >> 3u) & 1u;
  let i = unit & 7u;
  let quants = word_at(base + 32u + half * 32u + i * 4u);
  let mask = word_at(base + i * 4u);
  let a = word_at(base + 96u);
  let b = word_at(base + 100u);
  let c = word_at(base + 104u);
  let d = f16_at(base + 108u);
  let first = half * 8u + (i >> 2u);
  let bit = half * 4u;
  return array<vec4<f32>, 4>(
    (pairs_of(quants, 0u) - 4.0 + 4.0 * bits_of(mask, bit)) * (d * q3_scale(a, b, c, first)),
    (pairs_of(quants, 2u) - 4.0 + 4.0 * bits_of(mask, bit + 1u)) * (d * q3_scale(a, b, c, first + 2u)),
    (pairs_of(quants, 4u) - 4.0 + 4.0 * bits_of(mask, bit + 2u)) * (d * q3_scale(a, b, c, first + 4u)),
    (pairs_of(quants, 6u) - 4.0 + 4.0 * bits_of(mask, bit + 3u)) * (d * q3_scale(a, b, c, first + 6u)));
}${CROSSWISE_COLUMN}
fn dequant4(row: u32, column: u32) -> vec4<f32> {
  let base = row + (column >> 8u) * 110u;
  let element = column & 255u;
  let half = element >> 7u;
  let j = (element >> 5u) & 3u;
  let l = element & 31u;
  let quants = pairs_of(word_at(base + 32u + half * 32u + l), j * 2u);
  let high = bits_of(word_at(base + l), half * 4u + j);
  let scale = q3_scale(word_at(base + 96u), word_at(base + 100u), word_at(base + 104u), half * 8u + j * 2u + (l >> 4u));
  return (quants - 4.0 + 4.0 * high) * (f16_at(base + 108u) * scale);
}
`,
};

/** Q4_K: f16 d, f16 dmin, 12 scale bytes, 128 nibble bytes; x = d · scale · q − dmin · min. 144 bytes. */
export const Q4_K_SHADER: WeightShader = {
  type: 'Q4_K',
  unitColumns: 16,
  groups: 4,
  code: /* wgsl */ `
${SCALE_MIN_WGSL}
fn unit_load(row: u32, unit: u32) -> array<vec4<f32>, 4> {
  let base = row + (unit >> 4u) * 144u;
  let g = (unit >> 2u) & 3u;
  let quants = base + 16u + g * 32u + (unit & 3u) * 8u;
  let a = aligned_word(quants);
  let b = aligned_word(quants + 4u);
  let dm = unpack2x16float(aligned_word(base));
  let s0 = aligned_word(base + 4u);
  let s1 = aligned_word(base + 8u);
  let s2 = aligned_word(base + 12u);
  let low = scale_min(s0, s1, s2, g * 2u) * dm;
  let high = scale_min(s0, s1, s2, g * 2u + 1u) * dm;
  return array<vec4<f32>, 4>(
    low_nibbles(a) * low.x - low.y, low_nibbles(b) * low.x - low.y,
    high_nibbles(a) * high.x - high.y, high_nibbles(b) * high.x - high.y);
}${PAIRED_COLUMN}
fn dequant4(row: u32, column: u32) -> vec4<f32> {
  let base = row + (column >> 8u) * 144u;
  let element = column & 255u;
  let g = element >> 6u;
  let upper = (element & 32u) != 0u;
  let word = aligned_word(base + 16u + g * 32u + (element & 31u));
  let sm = scale_min(aligned_word(base + 4u), aligned_word(base + 8u), aligned_word(base + 12u), g * 2u + select(0u, 1u, upper))
    * unpack2x16float(aligned_word(base));
  return select(low_nibbles(word), high_nibbles(word), upper) * sm.x - sm.y;
}
`,
};

/** Q5_K: as Q4_K plus 32 bytes of fifth bits (bit 2g / 2g + 1 of byte l). 176 bytes. */
export const Q5_K_SHADER: WeightShader = {
  type: 'Q5_K',
  unitColumns: 16,
  groups: 4,
  code: /* wgsl */ `
${SCALE_MIN_WGSL}
fn unit_load(row: u32, unit: u32) -> array<vec4<f32>, 4> {
  let base = row + (unit >> 4u) * 176u;
  let g = (unit >> 2u) & 3u;
  let offset = (unit & 3u) * 8u;
  let a = aligned_word(base + 48u + g * 32u + offset);
  let b = aligned_word(base + 52u + g * 32u + offset);
  let ha = aligned_word(base + 16u + offset);
  let hb = aligned_word(base + 20u + offset);
  let dm = unpack2x16float(aligned_word(base));
  let s0 = aligned_word(base + 4u);
  let s1 = aligned_word(base + 8u);
  let s2 = aligned_word(base + 12u);
  let low = scale_min(s0, s1, s2, g * 2u) * dm;
  let high = scale_min(s0, s1, s2, g * 2u + 1u) * dm;
  return array<vec4<f32>, 4>(
    (low_nibbles(a) + 16.0 * bits_of(ha, g * 2u)) * low.x - low.y,
    (low_nibbles(b) + 16.0 * bits_of(hb, g * 2u)) * low.x - low.y,
    (high_nibbles(a) + 16.0 * bits_of(ha, g * 2u + 1u)) * high.x - high.y,
    (high_nibbles(b) + 16.0 * bits_of(hb, g * 2u + 1u)) * high.x - high.y);
}${PAIRED_COLUMN}
fn dequant4(row: u32, column: u32) -> vec4<f32> {
  let base = row + (column >> 8u) * 176u;
  let element = column & 255u;
  let g = element >> 6u;
  let sub = g * 2u + ((element >> 5u) & 1u);
  let l = element & 31u;
  let word = aligned_word(base + 48u + g * 32u + l);
  let quants = select(low_nibbles(word), high_nibbles(word), (element & 32u) != 0u) + 16.0 * bits_of(aligned_word(base + 16u + l), sub);
  let sm = scale_min(aligned_word(base + 4u), aligned_word(base + 8u), aligned_word(base + 12u), sub) * unpack2x16float(aligned_word(base));
  return quants * sm.x - sm.y;
}
`,
};

/**
 * Q6_K: 128 bytes of low nibbles, 64 bytes of 2-bit high parts, 16 signed scales, f16 d; x = d · scale · (q − 32).
 * 210 bytes. Per 128-half h and byte l < 32: low nibbles of bytes l and l + 32 are elements l and l + 32, their high
 * nibbles l + 64 and l + 96; high byte l gives bits 0-1, 2-3, 4-5, 6-7 to those four.
 */
export const Q6_K_SHADER: WeightShader = {
  type: 'Q6_K',
  unitColumns: 16,
  groups: 4,
  code: /* wgsl */ `
fn unit_load(row: u32, unit: u32) -> array<vec4<f32>, 4> {
  let base = row + (unit >> 4u) * 210u;
  let half = (unit >> 3u) & 1u;
  let i = unit & 7u;
  let a = word_at(base + half * 64u + i * 4u);
  let b = word_at(base + half * 64u + 32u + i * 4u);
  let high = word_at(base + 128u + half * 32u + i * 4u);
  let scales = base + 192u + half * 8u + (i >> 2u);
  let sa = signed_bytes(word_at(scales));
  let sb = signed_bytes(word_at(scales + 4u));
  let scale = vec4<f32>(sa.x, sa.z, sb.x, sb.z) * f16_at(base + 208u);
  return array<vec4<f32>, 4>(
    (low_nibbles(a) + 16.0 * pairs_of(high, 0u) - 32.0) * scale.x,
    (low_nibbles(b) + 16.0 * pairs_of(high, 2u) - 32.0) * scale.y,
    (high_nibbles(a) + 16.0 * pairs_of(high, 4u) - 32.0) * scale.z,
    (high_nibbles(b) + 16.0 * pairs_of(high, 6u) - 32.0) * scale.w);
}${CROSSWISE_COLUMN}
fn dequant4(row: u32, column: u32) -> vec4<f32> {
  let base = row + (column >> 8u) * 210u;
  let element = column & 255u;
  let half = element >> 7u;
  let k = (element >> 5u) & 3u;
  let l = element & 31u;
  let word = word_at(base + half * 64u + (k & 1u) * 32u + l);
  let quants = select(low_nibbles(word), high_nibbles(word), k >= 2u) + 16.0 * pairs_of(word_at(base + 128u + half * 32u + l), k * 2u);
  let scale = f32(bitcast<i32>(byte_at(base + 192u + half * 8u + (l >> 4u) + k * 2u) << 24u) >> 24u);
  return (quants - 32.0) * (scale * f16_at(base + 208u));
}
`,
};
