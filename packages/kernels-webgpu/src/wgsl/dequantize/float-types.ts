// F32, F16 and BF16 rows: plain little-endian elements, read 4 or 8 at a time.
import type { WeightShader } from './weight-shader.js';

/** F32: one unit is 4 consecutive elements. Rows are always word-aligned. */
export const F32_SHADER: WeightShader = {
  type: 'F32',
  unitColumns: 4,
  groups: 1,
  code: /* wgsl */ `
fn dequant4(row: u32, column: u32) -> vec4<f32> {
  let index = (row >> 2u) + column;
  return bitcast<vec4<f32>>(vec4<u32>(weights[index], weights[index + 1u], weights[index + 2u], weights[index + 3u]));
}
fn unit_load(row: u32, unit: u32) -> array<vec4<f32>, 1> { return array<vec4<f32>, 1>(dequant4(row, unit * 4u)); }
fn unit_column(unit: u32, group: u32) -> u32 { return unit * 4u; }
`,
};

/** F16: one unit is 8 consecutive elements (16 bytes). */
export const F16_SHADER: WeightShader = {
  type: 'F16',
  unitColumns: 8,
  groups: 2,
  code: /* wgsl */ `
fn dequant4(row: u32, column: u32) -> vec4<f32> {
  let byte = row + column * 2u;
  return vec4<f32>(unpack2x16float(word_at(byte)), unpack2x16float(word_at(byte + 4u)));
}
fn unit_load(row: u32, unit: u32) -> array<vec4<f32>, 2> {
  return array<vec4<f32>, 2>(dequant4(row, unit * 8u), dequant4(row, unit * 8u + 4u));
}
fn unit_column(unit: u32, group: u32) -> u32 { return unit * 8u + group * 4u; }
`,
};

/** BF16: the high half of an f32; one unit is 8 consecutive elements. */
export const BF16_SHADER: WeightShader = {
  type: 'BF16',
  unitColumns: 8,
  groups: 2,
  code: /* wgsl */ `
fn bf16_pair(word: u32) -> vec2<f32> { return vec2<f32>(bitcast<f32>(word << 16u), bitcast<f32>(word & 0xffff0000u)); }
fn dequant4(row: u32, column: u32) -> vec4<f32> {
  let byte = row + column * 2u;
  return vec4<f32>(bf16_pair(word_at(byte)), bf16_pair(word_at(byte + 4u)));
}
fn unit_load(row: u32, unit: u32) -> array<vec4<f32>, 2> {
  return array<vec4<f32>, 2>(dequant4(row, unit * 8u), dequant4(row, unit * 8u + 4u));
}
fn unit_column(unit: u32, group: u32) -> u32 { return unit * 8u + group * 4u; }
`,
};
