import { SCALE_MIN_WGSL } from '../../wgsl/dequantize/k-quants.js';
import {
  fusionLaneWeightRow,
  fusionSquaresOnlyWhere,
  fusionStore,
  NO_FUSION,
  normalizedInput,
} from './matvec-fusion.js';
import { groupWorkgroupSize, quantMatvecOpening } from './quant-matvec-header.js';
import type { QuantMatvecTuning, QuantMatvecVariant } from './quant-matvec-shader.js';
import { WGSL_ACTIVATION_SCALE } from './int8/activation-quantization-shader.js';
import { int8InputsWgsl, sumOfEightWgsl } from './int8-inputs-wgsl.js';
import { groupInputs, ONE_INPUT_ROW, registerRowsKernel } from './register-rows-kernel.js';

/**
 * The one-row Q4_K mat-vec kernels (decode), one per {@link QuantMatvecTuning.layout}. A Q4_K super-block is 144 bytes
 * = 9 `vec4<u32>`: the header (f16 d and dmin, 12 bytes of 6-bit scales and mins) then 4 groups of 32 quant bytes;
 * byte j of group g holds column 64g + j in its low nibble (sub-block 2g) and 64g + 32 + j in its high nibble
 * (sub-block 2g + 1). Every layout reads the weights as `vec4<u32>` (rows are 16-byte aligned since
 * `columns % 256 == 0`) and removes each sub-block's min with the sub-block's input sum:
 *
 * - `group` (the first kernel): one invocation per 64-column group, its 64 inputs in registers reused for
 *   `rowsPerWorkgroup` rows; the header is read once per group and row; the workgroup spans a row (32…256
 *   invocations by the column count);
 * - `vector`: one invocation per 16-byte quant vector (32 columns: 16 low and 16 high nibbles), 32 inputs in
 *   registers reused for `rowsPerWorkgroup` rows, `workgroupSize` invocations over the row: twice the invocations of
 *   `group` at the same rows per workgroup, half the registers, shorter dependent chains (tree sums);
 * - `rows`: the `rowsPerWorkgroup` lanes of each subgroup-sized slice take different rows and the
 *   `workgroupSize / rowsPerWorkgroup` slices split the 64-column groups, so every input load is the same address
 *   across those lanes (a broadcast) and nothing is reused in registers; each invocation sums one row. All the lanes
 *   of a slice load the same columns, so with the fused norm only lane 0 of each slice keeps its sum of squares
 *   (every column then counts once).
 *
 * `conversion`: `mantissa` turns a nibble into `1 + q/16` by OR-ing it into the mantissa of 1.0 (exact, integer
 * instructions only) and removes the offset per sub-block with the input sum; `integer` converts the masked nibbles
 * with `u32 → f32` conversions, as the Q6_K kernel does; `int8` (`group` only) rounds the 64 inputs to 8 bits
 * (`int8InputsWgsl`) and multiplies them with the nibbles four at a time by `dot4I8Packed`, removing the min with the
 * sums of the input quants (the int8 contract of the prefill path, not exact).
 */
export function q4kMatvecWgsl(variant: QuantMatvecVariant): string {
  const layout = variant.tuning.layout ?? 'group';
  if (layout === 'vector') return vectorWgsl(variant);
  return layout === 'rows' ? rowsWgsl(variant) : groupWgsl(variant);
}

/** Invocations per workgroup of a Q4_K kernel with `columns` columns. */
export function q4kWorkgroupSize(columns: number, tuning: QuantMatvecTuning): number {
  const layout = tuning.layout ?? 'group';
  if (layout === 'group') return groupWorkgroupSize(columns);
  return tuning.workgroupSize ?? (layout === 'vector' ? 64 : 256);
}

/** The part of a Q4_K kernel's cache key beyond the rows per workgroup (empty for the first kernel). */
export function q4kTuningKey(tuning: QuantMatvecTuning): string {
  const layout = tuning.layout ?? 'group';
  const shape = layout === 'group' ? '' : `:${layout}:wg=${q4kWorkgroupSize(0, tuning)}`;
  const conversion = tuning.conversion === 'integer' ? ':int' : tuning.conversion === 'int8' ? ':int8' : '';
  return `${shape}${conversion}`;
}

/** Why `tuning` cannot build a Q4_K kernel, or undefined when it can. */
export function q4kTuningProblem(tuning: QuantMatvecTuning): string | undefined {
  const rows = tuning.rowsPerWorkgroup;
  const size = q4kWorkgroupSize(256, tuning);
  const powerOfTwo = (value: number) => Number.isInteger(value) && value > 0 && (value & (value - 1)) === 0;
  if (!Number.isInteger(rows) || rows < 1 || rows > 64) return `rowsPerWorkgroup must be 1…64, got ${rows}`;
  if (tuning.conversion === 'int8' && (tuning.layout ?? 'group') !== 'group') {
    return 'the int8 conversion needs the group layout';
  }
  if (!powerOfTwo(size) || size > 256) return `workgroupSize must be a power of two up to 256, got ${size}`;
  if (tuning.layout === 'rows' && (!powerOfTwo(rows) || rows > size)) {
    return `the rows layout needs rowsPerWorkgroup a power of two up to workgroupSize, got ${rows} of ${size}`;
  }
  return undefined;
}

/** `low4`, `high4` (the nibbles of a word as floats) and `scale_min` (a sub-block's 6-bit scale and min). */
function nibbleFunctions(integer: boolean): string {
  const nibbles = integer
    ? `// q for the low / high nibbles of the 4 bytes of w: the nibbles masked in place, then each byte converted (exact;
// the byte extraction is the Q6_K kernel's, which a compiler can fold into a byte-selecting conversion).
fn bytes4(w: u32) -> vec4<f32> {
  return vec4<f32>(vec4<u32>(w, w >> 8u, w >> 16u, w >> 24u) & vec4<u32>(0xffu));
}
fn low4(w: u32) -> vec4<f32> {
  return bytes4(w & 0x0f0f0f0fu);
}
fn high4(w: u32) -> vec4<f32> {
  return bytes4((w >> 4u) & 0x0f0f0f0fu);
}`
    : `// 1 + q/16 for the low / high nibbles of the 4 bytes of w (exact: the nibble lands in mantissa bits 19..22 of 1.0).
fn low4(w: u32) -> vec4<f32> {
  let v = vec4<u32>(w << 19u, w << 11u, w << 3u, w >> 5u);
  return bitcast<vec4<f32>>((v & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u));
}
fn high4(w: u32) -> vec4<f32> {
  let v = vec4<u32>(w << 15u, w << 7u, w >> 1u, w >> 9u);
  return bitcast<vec4<f32>>((v & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u));
}`;
  return `${nibbles}
${SCALE_MIN_WGSL}`;
}

/**
 * The contribution of one (part of a) sub-block: `scale` is `(d·sc, dmin·m)`, `dot` the sum of nibble × input as
 * `low4`/`high4` give them, `sum` the sum of the same inputs.
 */
function subBlock(integer: boolean, scale: string, dot: string, sum: string): string {
  return integer
    ? `${scale}.x * ${dot} - ${scale}.y * ${sum}`
    : `${scale}.x * 16.0 * (${dot} - ${sum}) - ${scale}.y * ${sum}`;
}

/** `(a + b) + (c + d)` of four terms: two independent chains instead of one. */
function tree(terms: readonly string[]): string {
  return `(${terms[0]} + ${terms[1]}) + (${terms[2]} + ${terms[3]})`;
}

const WORDS = ['x', 'y', 'z', 'w'] as const;

/**
 * Statements that add a 64-column group's two sub-blocks to `accumulator`: the header `h` gives `d`, `dmin` and the
 * scales of sub-blocks `2g` and `2g + 1`, `lo` / `hi` are their nibble dots and `sumLo` / `sumHi` their input sums.
 */
function groupSubBlocks(integer: boolean, accumulator: string, indent: string): string {
  return [
    'let dm = unpack2x16float(h.x);',
    'let a = scale_min(h.y, h.z, h.w, g * 2u) * dm;',
    'let b = scale_min(h.y, h.z, h.w, g * 2u + 1u) * dm;',
    `${accumulator} += ${subBlock(integer, 'a', 'lo', 'sumLo')} + ${subBlock(integer, 'b', 'hi', 'sumHi')};`,
  ]
    .map((line) => `${indent}${line}`)
    .join('\n');
}

function groupWgsl(variant: QuantMatvecVariant): string {
  if (variant.tuning.conversion === 'int8') return groupInt8Wgsl(variant);
  const fusion = variant.fusion ?? NO_FUSION;
  const integer = variant.tuning.conversion === 'integer';
  return registerRowsKernel(variant, {
    weightWords: 'vec4<u32>',
    workgroupSize: groupWorkgroupSize(variant.columns),
    units: variant.columns / 64,
    functions: nibbleFunctions(integer),
    setup: '  let rowVecs = params.rowBytes / 16u;',
    loads: (input) => `    let g = u & 3u;
${groupInputs(fusion, input)}
    let ones = vec4<f32>(1.0);
    let sumLo = dot(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7, ones);
    let sumHi = dot(x8 + x9 + x10 + x11 + x12 + x13 + x14 + x15, ones);`,
    // Per row: the header and the two quant vectors of this group, then the 2 sub-block sums.
    row: (_, weightRow, accumulator) => `      let rowVec = ${weightRow} * rowVecs + (u >> 2u) * 9u;
      let h = weights[rowVec];
      let q0 = weights[rowVec + 1u + g * 2u];
      let q1 = weights[rowVec + 2u + g * 2u];
      var lo = 0.0;
      var hi = 0.0;
${[0, 1]
  .flatMap((v) =>
    WORDS.map(
      (c, i) =>
        `      lo += dot(low4(q${v}.${c}), x${v * 4 + i});\n      hi += dot(high4(q${v}.${c}), x${8 + v * 4 + i});`,
    ),
  )
  .join('\n')}
${groupSubBlocks(integer, accumulator, '      ')}`,
  });
}

function vectorWgsl(variant: QuantMatvecVariant): string {
  const fusion = variant.fusion ?? NO_FUSION;
  const integer = variant.tuning.conversion === 'integer';
  return registerRowsKernel(variant, {
    weightWords: 'vec4<u32>',
    workgroupSize: q4kWorkgroupSize(variant.columns, variant.tuning),
    units: variant.columns / 32,
    functions: nibbleFunctions(integer),
    setup: '  let rowVecs = params.rowBytes / 16u;',
    loads: (input) => `    // Unit u: quant vector u & 7 of super-block u >> 3, in group g = (u >> 1) & 3, half u & 1.
    let block = (u >> 3u) * 9u;
    let g = (u >> 1u) & 3u;
    let xv = (u >> 1u) * 16u + (u & 1u) * 4u;
${[0, 1, 2, 3, 8, 9, 10, 11].map((offset, i) => `    let x${i} = ${normalizedInput(fusion, `input[${input.base}xv + ${offset}u]`, `(xv + ${offset}u) * 4u`, true, input.squares)};`).join('\n')}
    let ones = vec4<f32>(1.0);
    let sumLo = dot((x0 + x1) + (x2 + x3), ones);
    let sumHi = dot((x4 + x5) + (x6 + x7), ones);`,
    // Per row: the header and this invocation's quant vector; word k holds columns xv·4 + 4k … (low nibbles) and
    // xv·4 + 32 + 4k … (high nibbles).
    row: (_, weightRow, accumulator) => `      let rowVec = ${weightRow} * rowVecs;
      let h = weights[rowVec + block];
      let q = weights[rowVec + block + 1u + (u & 7u)];
      let lo = ${tree(WORDS.map((c, k) => `dot(low4(q.${c}), x${k})`))};
      let hi = ${tree(WORDS.map((c, k) => `dot(high4(q.${c}), x${4 + k})`))};
${groupSubBlocks(integer, accumulator, '      ')}`,
  });
}

function rowsWgsl(variant: QuantMatvecVariant): string {
  const { columns, bias, subgroups, tuning } = variant;
  const fusion = variant.fusion ?? NO_FUSION;
  const integer = tuning.conversion === 'integer';
  const R = tuning.rowsPerWorkgroup;
  const WG = q4kWorkgroupSize(columns, tuning);
  const splits = WG / R;
  const units = columns / 64;
  const opening = quantMatvecOpening({
    subgroups,
    fusion,
    weightWords: 'vec4<u32>',
    rowsPerWorkgroup: R,
    workgroupSize: WG,
    scratch: WG,
    functions: nibbleFunctions(integer),
  });
  return /* wgsl */ `${opening}
  // Lane: the row (${R} per workgroup); split: which of the ${splits} slices of the row's 64-column groups.
  let lane = li % ${R}u;
  let split = li / ${R}u;
  let rowVec = min(${fusionLaneWeightRow(fusion, R, 'lane')}, params.chunkRows - 1u) * (params.rowBytes / 16u);
  var acc = 0.0;
  for (var u = split; u < ${units}u; u += ${splits}u) {
    let g = u & 3u;
    let block = rowVec + (u >> 2u) * 9u;
    let h = weights[block];
    let q0 = weights[block + 1u + g * 2u];
    let q1 = weights[block + 2u + g * 2u];
${groupInputs(fusion, ONE_INPUT_ROW)}
    let ones = vec4<f32>(1.0);
    let sumLo = dot(((x0 + x1) + (x2 + x3)) + ((x4 + x5) + (x6 + x7)), ones);
    let sumHi = dot(((x8 + x9) + (x10 + x11)) + ((x12 + x13) + (x14 + x15)), ones);
    let lo = (${tree(WORDS.map((c, k) => `dot(low4(q0.${c}), x${k})`))})
      + (${tree(WORDS.map((c, k) => `dot(low4(q1.${c}), x${4 + k})`))});
    let hi = (${tree(WORDS.map((c, k) => `dot(high4(q0.${c}), x${8 + k})`))})
      + (${tree(WORDS.map((c, k) => `dot(high4(q1.${c}), x${12 + k})`))});
${groupSubBlocks(integer, 'acc', '    ')}
  }
  scratch[li] = acc;
  workgroupBarrier();
  var result = 0.0;
  if (li < ${R}u) {
    for (var s = 0u; s < ${splits}u; s++) { result += scratch[s * ${R}u + li]; }
  }${fusionSquaresOnlyWhere(fusion, 'lane == 0u')}
${fusionStore(fusion, { rowsPerWorkgroup: R, workgroupSize: WG, subgroups, bias })}
}
`;
}

function groupInt8Wgsl(variant: QuantMatvecVariant): string {
  const fusion = variant.fusion ?? NO_FUSION;
  const words = [0, 1].flatMap((v) => WORDS.map((c) => `q${v}.${c}`));
  const ones = (first: number) => sumOfEightWgsl((k) => `dot4I8Packed(xq${first + k}, 0x01010101u)`);
  return registerRowsKernel(variant, {
    weightWords: 'vec4<u32>',
    workgroupSize: groupWorkgroupSize(variant.columns),
    units: variant.columns / 64,
    functions: `${WGSL_ACTIVATION_SCALE}\n${SCALE_MIN_WGSL}`,
    setup: '  let rowVecs = params.rowBytes / 16u;',
    loads: (input) => `    let g = u & 3u;
${groupInputs(fusion, input)}
${int8InputsWgsl()}
    let sumLo = f32(${ones(0)});
    let sumHi = f32(${ones(8)});`,
    // Per row: the header and the two quant vectors of this group, the nibbles' 8-bit dots with the input quants.
    row: (_, weightRow, accumulator) => `      let rowVec = ${weightRow} * rowVecs + (u >> 2u) * 9u;
      let h = weights[rowVec];
      let q0 = weights[rowVec + 1u + g * 2u];
      let q1 = weights[rowVec + 2u + g * 2u];
      let lo = f32(${sumOfEightWgsl((k) => `dot4I8Packed(${words[k]} & 0x0f0f0f0fu, xq${k})`)});
      let hi = f32(${sumOfEightWgsl((k) => `dot4I8Packed((${words[k]} >> 4u) & 0x0f0f0f0fu, xq${8 + k})`)});
      let dm = unpack2x16float(h.x);
      let a = scale_min(h.y, h.z, h.w, g * 2u) * dm;
      let b = scale_min(h.y, h.z, h.w, g * 2u + 1u) * dm;
      ${accumulator} += xd0 * (a.x * lo - a.y * sumLo) + xd1 * (b.x * hi - b.y * sumHi);`,
  });
}
