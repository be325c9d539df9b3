// The 32-element block types (facts from ggml-common.h: field order and sizes). In every block the low nibbles of the
// 16 quant bytes are elements 0…15 and the high nibbles elements 16…31. One unit is 8 quant bytes: 16 elements in
// four groups (low nibbles of word 0 and 1, then their high nibbles), two units per block.
import type { WeightShader } from './weight-shader.js';

const NIBBLE_COLUMN = /* wgsl */ `
fn unit_column(unit: u32, group: u32) -> u32 { return (unit >> 1u) * 32u + (unit & 1u) * 8u + (group & 1u) * 4u + (group >> 1u) * 16u; }`;

/** Q8_0: f16 d, 32 signed bytes; x = q · d. 34 bytes. One unit is 8 elements (4 units per block). */
export const Q8_0_SHADER: WeightShader = {
  type: 'Q8_0',
  unitColumns: 8,
  groups: 2,
  code: /* wgsl */ `
fn unit_load(row: u32, unit: u32) -> array<vec4<f32>, 2> {
  let base = row + (unit >> 2u) * 34u;
  let d = f16_at(base);
  let quants = base + 2u + (unit & 3u) * 8u;
  return array<vec4<f32>, 2>(signed_bytes(word_at(quants)) * d, signed_bytes(word_at(quants + 4u)) * d);
}
fn unit_column(unit: u32, group: u32) -> u32 { return unit * 8u + group * 4u; }
fn dequant4(row: u32, column: u32) -> vec4<f32> {
  let base = row + (column >> 5u) * 34u;
  return signed_bytes(word_at(base + 2u + (column & 31u))) * f16_at(base);
}
`,
};

/** Q4_0: f16 d, 16 nibble bytes; x = (q − 8) · d. 18 bytes. */
export const Q4_0_SHADER: WeightShader = {
  type: 'Q4_0',
  unitColumns: 16,
  groups: 4,
  code: /* wgsl */ `
fn unit_load(row: u32, unit: u32) -> array<vec4<f32>, 4> {
  let base = row + (unit >> 1u) * 18u;
  let d = f16_at(base);
  let quants = base + 2u + (unit & 1u) * 8u;
  let a = word_at(quants);
  let b = word_at(quants + 4u);
  return array<vec4<f32>, 4>((low_nibbles(a) - 8.0) * d, (low_nibbles(b) - 8.0) * d, (high_nibbles(a) - 8.0) * d, (high_nibbles(b) - 8.0) * d);
}${NIBBLE_COLUMN}
fn dequant4(row: u32, column: u32) -> vec4<f32> {
  let base = row + (column >> 5u) * 18u;
  let within = column & 31u;
  let word = word_at(base + 2u + (within & 15u));
  return (select(low_nibbles(word), high_nibbles(word), within >= 16u) - 8.0) * f16_at(base);
}
`,
};

/** Q4_1: f16 d, f16 m, 16 nibble bytes; x = q · d + m. 20 bytes (word-aligned blocks). */
export const Q4_1_SHADER: WeightShader = {
  type: 'Q4_1',
  unitColumns: 16,
  groups: 4,
  code: /* wgsl */ `
fn unit_load(row: u32, unit: u32) -> array<vec4<f32>, 4> {
  let base = row + (unit >> 1u) * 20u;
  let dm = unpack2x16float(aligned_word(base));
  let quants = base + 4u + (unit & 1u) * 8u;
  let a = aligned_word(quants);
  let b = aligned_word(quants + 4u);
  return array<vec4<f32>, 4>(low_nibbles(a) * dm.x + dm.y, low_nibbles(b) * dm.x + dm.y, high_nibbles(a) * dm.x + dm.y, high_nibbles(b) * dm.x + dm.y);
}${NIBBLE_COLUMN}
fn dequant4(row: u32, column: u32) -> vec4<f32> {
  let base = row + (column >> 5u) * 20u;
  let dm = unpack2x16float(aligned_word(base));
  let within = column & 31u;
  let word = aligned_word(base + 4u + (within & 15u));
  return select(low_nibbles(word), high_nibbles(word), within >= 16u) * dm.x + dm.y;
}
`,
};

/** Q5_0: f16 d, u32 of fifth bits (bit j for element j), 16 nibble bytes; x = (q − 16) · d. 22 bytes. */
export const Q5_0_SHADER: WeightShader = {
  type: 'Q5_0',
  unitColumns: 16,
  groups: 4,
  code: /* wgsl */ `
fn unit_load(row: u32, unit: u32) -> array<vec4<f32>, 4> {
  let base = row + (unit >> 1u) * 22u;
  let d = f16_at(base);
  let high = word_at(base + 2u);
  let first = (unit & 1u) * 8u;
  let a = word_at(base + 6u + first);
  let b = word_at(base + 10u + first);
  return array<vec4<f32>, 4>(
    (low_nibbles(a) + 16.0 * bit4(high, first) - 16.0) * d,
    (low_nibbles(b) + 16.0 * bit4(high, first + 4u) - 16.0) * d,
    (high_nibbles(a) + 16.0 * bit4(high, first + 16u) - 16.0) * d,
    (high_nibbles(b) + 16.0 * bit4(high, first + 20u) - 16.0) * d);
}${NIBBLE_COLUMN}
fn dequant4(row: u32, column: u32) -> vec4<f32> {
  let base = row + (column >> 5u) * 22u;
  let within = column & 31u;
  let word = word_at(base + 6u + (within & 15u));
  let quants = select(low_nibbles(word), high_nibbles(word), within >= 16u) + 16.0 * bit4(word_at(base + 2u), within);
  return (quants - 16.0) * f16_at(base);
}
`,
};

/** Q5_1: f16 d, f16 m, u32 of fifth bits, 16 nibble bytes; x = q · d + m. 24 bytes (word-aligned blocks). */
export const Q5_1_SHADER: WeightShader = {
  type: 'Q5_1',
  unitColumns: 16,
  groups: 4,
  code: /* wgsl */ `
fn unit_load(row: u32, unit: u32) -> array<vec4<f32>, 4> {
  let base = row + (unit >> 1u) * 24u;
  let dm = unpack2x16float(aligned_word(base));
  let high = aligned_word(base + 4u);
  let first = (unit & 1u) * 8u;
  let a = aligned_word(base + 8u + first);
  let b = aligned_word(base + 12u + first);
  return array<vec4<f32>, 4>(
    (low_nibbles(a) + 16.0 * bit4(high, first)) * dm.x + dm.y,
    (low_nibbles(b) + 16.0 * bit4(high, first + 4u)) * dm.x + dm.y,
    (high_nibbles(a) + 16.0 * bit4(high, first + 16u)) * dm.x + dm.y,
    (high_nibbles(b) + 16.0 * bit4(high, first + 20u)) * dm.x + dm.y);
}${NIBBLE_COLUMN}
fn dequant4(row: u32, column: u32) -> vec4<f32> {
  let base = row + (column >> 5u) * 24u;
  let dm = unpack2x16float(aligned_word(base));
  let within = column & 31u;
  let word = aligned_word(base + 8u + (within & 15u));
  let quants = select(low_nibbles(word), high_nibbles(word), within >= 16u) + 16.0 * bit4(aligned_word(base + 4u), within);
  return quants * dm.x + dm.y;
}
`,
};
