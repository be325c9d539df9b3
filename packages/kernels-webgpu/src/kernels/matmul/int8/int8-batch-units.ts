import { SCALE_MIN_WGSL } from '../../../wgsl/dequantize/k-quants.js';
import { Q6K_WORD_READS_WGSL } from '../q6k-word-reads.js';
import { int8WeightReaderWgsl } from './int8-weight-blocks.js';

// The per-type parts of the batched 8-bit-input product (`int8-batch-matvec.ts`; Q4_K, Q6_K, Q8_0): how a workgroup's
// loop over the units of a weight row decodes a unit of each of its weight rows once, loads the matching 8-bit inputs
// of each input row, and adds their product. Inputs are `[rows, columns / 16]` `vec4<u32>` (16 int8 quants each, lowest
// byte first), with a scale (and, for Q4_K's mins, a quant sum) per block of 32 columns.

/** The WGSL pieces of one weight type. */
export interface Int8BatchUnits {
  /** How the kernel reads `weights`. */
  readonly weightWords: 'vec4<u32>' | 'u32';
  /** Units per weight row of `columns`. */
  readonly units: number;
  /** Module-scope functions. */
  readonly functions: string;
  /** The first weight element of a row (`weightRow`: a WGSL row index): a `vec4` index (Q4_K) or a byte (Q6_K). */
  readonly rowBase: (weightRow: string) => string;
  /** Statements at the top of the loop body (unit `u`): what every row and input row of the unit shares. */
  readonly unit: string;
  /** Statements decoding unit `u` of weight row `r` (its base in `row{r}`) into registers suffixed `_{r}`. */
  readonly weightRow: (r: number) => string;
  /** Statements loading unit `u` of input row `b` (row index `in{b}`) into registers suffixed `_{b}`. */
  readonly inputRow: (b: number) => string;
  /** A statement adding the product of weight row `r` and input row `b` to `accumulator`. */
  readonly product: (r: number, b: number, accumulator: string) => string;
}

const WORDS = ['x', 'y', 'z', 'w'] as const;

/** `Σ dot4I8Packed` over the four words of two `vec4<u32>` expressions. */
function dot16(weights: (word: number) => string, inputs: string): string {
  return WORDS.map((word, index) => `dot4I8Packed(${weights(index)}, ${inputs}.${word})`).join(' + ');
}

/**
 * Q4_K (144-byte super-blocks of 256 = 9 `vec4<u32>`: d, dmin and 12 bytes of 6-bit scales and mins, then 4 groups of
 * 32 quant bytes). Unit u: quant vector u & 7 of super-block u >> 3, in group g = (u >> 1) & 3, half u & 1; its low
 * nibbles are columns 64g + 16·half + 0…15 of the super-block (sub-block 2g), its high nibbles the same + 32
 * (sub-block 2g + 1). The nibbles are 8-bit values already (0…15); each sub-block's min is removed with its whole
 * input sum, once, in the unit of its first half.
 */
export function q4kUnits(columns: number): Int8BatchUnits {
  return {
    weightWords: 'vec4<u32>',
    units: columns / 32,
    functions: SCALE_MIN_WGSL,
    rowBase: (weightRow) => `${weightRow} * (params.rowBytes / 16u)`,
    unit: `    let block = (u >> 3u) * 9u;
    let g = (u >> 1u) & 3u;
    let sub = (u >> 3u) * 8u + g * 2u;
    let xv = (u >> 3u) * 16u + g * 4u + (u & 1u);
    let first = (u & 1u) == 0u;`,
    weightRow: (r) => `    let h_${r} = weights[row${r} + block];
    let q_${r} = weights[row${r} + block + 1u + (u & 7u)];
    let dm_${r} = unpack2x16float(h_${r}.x);
    let a_${r} = scale_min(h_${r}.y, h_${r}.z, h_${r}.w, g * 2u) * dm_${r};
    let b_${r} = scale_min(h_${r}.y, h_${r}.z, h_${r}.w, g * 2u + 1u) * dm_${r};
    let lo_${r} = q_${r} & vec4<u32>(0x0f0f0f0fu);
    let hi_${r} = (q_${r} >> vec4<u32>(4u)) & vec4<u32>(0x0f0f0f0fu);`,
    inputRow: (b) => `    let xl_${b} = input[in${b} * ${columns / 16}u + xv];
    let xh_${b} = input[in${b} * ${columns / 16}u + xv + 2u];
    let sl_${b} = input_scales[in${b} * ${columns / 32}u + sub];
    let sh_${b} = input_scales[in${b} * ${columns / 32}u + sub + 1u];
    let ml_${b} = select(0.0, sl_${b} * f32(input_sums[in${b} * ${columns / 32}u + sub]), first);
    let mh_${b} = select(0.0, sh_${b} * f32(input_sums[in${b} * ${columns / 32}u + sub + 1u]), first);`,
    product: (r, b, accumulator) =>
      `    ${accumulator} += (a_${r}.x * sl_${b} * f32(${dot16((k) => `lo_${r}.${WORDS[k]}`, `xl_${b}`)})
      + b_${r}.x * sh_${b} * f32(${dot16((k) => `hi_${r}.${WORDS[k]}`, `xh_${b}`)})) - (a_${r}.y * ml_${b} + b_${r}.y * mh_${b});`,
  };
}

/**
 * Q6_K (210-byte blocks of 256: 128 bytes of low nibbles, 64 of 2-bit high parts, 16 signed scales, f16 d; blocks start
 * on even bytes, read as aligned words shifted by 16 bits where needed). Unit u: the 64-column quarter `u & 1` of half
 * `(u >> 1) & 1` of block `u >> 2`: ggml's l = 16·quarter … + 15, columns 128·half + 32g + 16·quarter + 0…15 for
 * g = 0…3, each 16 under one scale and in input block 8·block + 4·half + g. The 6-bit quants are packed as bytes and
 * moved to −32…31 in place (no input sums needed).
 */
export function q6kUnits(columns: number): Int8BatchUnits {
  const groups = [0, 1, 2, 3];
  return {
    weightWords: 'u32',
    units: columns / 64,
    functions: `${Q6K_WORD_READS_WGSL}
// Four 6-bit quants (bytes 0…63) as four int8 values q − 32 (per byte, no borrow between bytes).
fn centred(v: u32) -> u32 {
  return ((v | 0x80808080u) - 0x20202020u) ^ 0x80808080u;
}
// Signed byte \`index\` of w as a float.
fn signed_byte(w: u32, index: u32) -> f32 {
  return f32(bitcast<i32>(w << (24u - 8u * index)) >> 24u);
}`,
    rowBase: (weightRow) => `${weightRow} * params.rowBytes`,
    unit: `    let block = u >> 2u;
    let half = (u >> 1u) & 1u;
    let quarter = u & 1u;
    let xv = block * 16u + half * 8u + quarter;
    let xb = block * 8u + half * 4u;`,
    weightRow: (r) => `    let s_${r} = row${r} + block * 210u;
    let low_${r} = words4(s_${r} + half * 64u + quarter * 16u);
    let lowHigh_${r} = words4(s_${r} + half * 64u + 32u + quarter * 16u);
    let top_${r} = words4(s_${r} + 128u + half * 32u + quarter * 16u);
    let scaleWords_${r} = vec2<u32>(word_at(s_${r} + 192u + half * 8u), word_at(s_${r} + 196u + half * 8u));
    let d_${r} = unpack2x16float(word_at(s_${r} + 208u)).x;
    let scale_${r} = d_${r} * vec4<f32>(signed_byte(scaleWords_${r}.x, quarter), signed_byte(scaleWords_${r}.x, 2u + quarter),
      signed_byte(scaleWords_${r}.y, quarter), signed_byte(scaleWords_${r}.y, 2u + quarter));
    let v0_${r} = vec4<u32>(${WORDS.map((c) => `centred((low_${r}.${c} & 0x0f0f0f0fu) | ((top_${r}.${c} & 0x03030303u) << 4u))`).join(', ')});
    let v1_${r} = vec4<u32>(${WORDS.map((c) => `centred((lowHigh_${r}.${c} & 0x0f0f0f0fu) | (((top_${r}.${c} >> 2u) & 0x03030303u) << 4u))`).join(', ')});
    let v2_${r} = vec4<u32>(${WORDS.map((c) => `centred(((low_${r}.${c} >> 4u) & 0x0f0f0f0fu) | (((top_${r}.${c} >> 4u) & 0x03030303u) << 4u))`).join(', ')});
    let v3_${r} = vec4<u32>(${WORDS.map((c) => `centred(((lowHigh_${r}.${c} >> 4u) & 0x0f0f0f0fu) | (((top_${r}.${c} >> 6u) & 0x03030303u) << 4u))`).join(', ')});`,
    inputRow: (b) =>
      groups
        .map((g) => `    let x${g}_${b} = input[in${b} * ${columns / 16}u + xv + ${2 * g}u];`)
        .concat(
          `    let sx_${b} = vec4<f32>(${groups.map((g) => `input_scales[in${b} * ${columns / 32}u + xb + ${g}u]`).join(', ')});`,
        )
        .join('\n'),
    product: (r, b, accumulator) =>
      `    ${accumulator} += dot(scale_${r} * sx_${b}, vec4<f32>(${groups
        .map((g) => `f32(${dot16((k) => `v${g}_${r}.${WORDS[k]}`, `x${g}_${b}`)})`)
        .join(',\n      ')}));`,
  };
}

/**
 * Q8_0 (34-byte blocks of 32: f16 d, 32 int8 quants; every other block starts 2 bytes past a word, read through the
 * int8 GEMM's block reader, `int8-weight-blocks.ts`). Unit u: block u, whose 32 quants are 8-bit values already and
 * meet the input's block u under one scale each side.
 */
export function q80Units(columns: number): Int8BatchUnits {
  return {
    weightWords: 'u32',
    units: columns / 32,
    functions: int8WeightReaderWgsl('Q8_0'),
    rowBase: (weightRow) => `${weightRow} * params.rowBytes`,
    unit: `    let xv = u * 2u;`,
    weightRow: (r) => `    let q0_${r} = block_quants(row${r}, u, 0u);
    let q1_${r} = block_quants(row${r}, u, 1u);
    let d_${r} = block_scale(row${r}, u).x;`,
    inputRow: (b) => `    let x0_${b} = input[in${b} * ${columns / 16}u + xv];
    let x1_${b} = input[in${b} * ${columns / 16}u + xv + 1u];
    let s_${b} = input_scales[in${b} * ${columns / 32}u + u];`,
    product: (r, b, accumulator) =>
      `    ${accumulator} += d_${r} * s_${b} * f32(${dot16((k) => `q0_${r}.${WORDS[k]}`, `x0_${b}`)}
      + ${dot16((k) => `q1_${r}.${WORDS[k]}`, `x1_${b}`)});`,
  };
}
