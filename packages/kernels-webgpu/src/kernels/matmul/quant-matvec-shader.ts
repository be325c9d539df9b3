import type { WeightType } from '@strata/core';
import {
  fusionBindings,
  fusionFunctions,
  fusionKey,
  fusionParamsFields,
  fusionPrologue,
  fusionRowStep,
  fusionStore,
  fusionWeightRow,
  type MatvecFusion,
  NO_FUSION,
  normalizedInput,
} from './matvec-fusion.js';

/**
 * One-input-row mat-vec kernels specialised for Q4_K and Q8_0 (decode), built to stay memory-bound:
 *
 * - weights are read as `vec4<u32>` (16-byte loads) through an `array<vec4<u32>>` binding of the chunk; this needs
 *   every row to start on a 16-byte boundary, hence `columns % 256 == 0` for both types;
 * - an invocation owns whole pieces of a row (Q4_K: one 64-column group of a super-block, Q8_0: 8 blocks = 272 bytes),
 *   so the scales are decoded once per sub-block / block, not once per 16 weights;
 * - quants become floats without integer→float conversions: the quant bits are OR-ed into the top of the mantissa of
 *   1.0 (`1 + q/16` for a nibble, `1 + (q + 128)/256` for a signed byte); every step is exact and the values stay in
 *   [1, 2), so no driver reassociation can lose precision (unlike the `2^23` trick, see BENCHMARKS.md). The offset is
 *   removed once per sub-block with the sub-block's input sum (Q4_K) or per element by an exact subtraction (Q8_0);
 * - Q4_K keeps its 64 input values in registers and reuses them for `rowsPerWorkgroup` weight rows.
 *
 * Bindings and `Params` are those of `matvec-shader.ts` (`matvecUniforms`); grid: `ceil(chunkRows / rowsPerWorkgroup)`
 * groups, linear over x and y.
 */

/** Tunables of the quantized one-row mat-vec (defaults: {@link DEFAULT_QUANT_TUNING}). */
export interface QuantMatvecTuning {
  /** Q4_K: output rows per workgroup (each invocation computes all of them over its 64 columns). Q8_0: unused. */
  readonly rowsPerWorkgroup: number;
}

/** Measured best on an NVIDIA H200 (see BENCHMARKS.md). */
export const DEFAULT_QUANT_TUNING: QuantMatvecTuning = { rowsPerWorkgroup: 8 };

/** What a quantized one-row mat-vec kernel is specialised for. */
export interface QuantMatvecVariant {
  /** Weight type as stored on the GPU: the types with a specialised reader. */
  readonly type: 'Q4_K' | 'Q6_K' | 'Q8_0';
  /** Columns, baked into the code (a positive multiple of 256: see {@link quantMatvecSupported}). */
  readonly columns: number;
  /** Adds an f32 `bias` `[out]` to the output row. */
  readonly bias: boolean;
  /** The device has `subgroups`: row sums reduce within a subgroup by `subgroupAdd`, then across subgroups in memory. */
  readonly subgroups: boolean;
  /** Q4_K reads `rowsPerWorkgroup` (part of the cache key). */
  readonly tuning: QuantMatvecTuning;
  /**
   * Norm prologue and store epilogue (`matvec-fusion.ts`; Q4_K and Q6_K only, see {@link quantMatvecFusable});
   * default {@link NO_FUSION}.
   */
  readonly fusion?: MatvecFusion;
}

/**
 * True when {@link quantMatvecWgsl} handles weights of `type` with `columns` columns. `matmul` routes Q4_K and Q6_K
 * here: on the H200 none of the Q8_0 variants beat the wide kernel yet (BENCHMARKS.md).
 */
export function quantMatvecSupported(type: WeightType, columns: number): type is 'Q4_K' | 'Q6_K' | 'Q8_0' {
  return (type === 'Q4_K' || type === 'Q6_K' || type === 'Q8_0') && columns > 0 && columns % 256 === 0;
}

function nextPowerOfTwo(value: number): number {
  let result = 1;
  while (result < value) result *= 2;
  return result;
}

/** True when the kernel of `type` takes a {@link MatvecFusion} other than {@link NO_FUSION} (Q4_K and Q6_K). */
export function quantMatvecFusable(type: WeightType): boolean {
  return type === 'Q4_K' || type === 'Q6_K';
}

/** Q4_K and Q6_K: invocations per workgroup, one per 64-column group of a row (32…256). */
function q4kWorkgroupSize(columns: number): number {
  return Math.min(256, Math.max(32, nextPowerOfTwo(columns / 64)));
}

/** Output rows one workgroup computes. */
export function quantMatvecRowsPerWorkgroup(variant: QuantMatvecVariant): number {
  return variant.type === 'Q8_0' ? 32 : variant.tuning.rowsPerWorkgroup;
}

/** The cache key of a variant. */
export function quantMatvecKey(variant: QuantMatvecVariant): string {
  const { type, columns, bias, subgroups, tuning } = variant;
  const knobs = type === 'Q8_0' ? 'rows32' : `r=${tuning.rowsPerWorkgroup}`;
  return `matvec-quant:${type}:c=${columns}:b=${bias ? 1 : 0}:sg=${subgroups ? 1 : 0}:${knobs}${fusionKey(variant.fusion ?? NO_FUSION)}`;
}

const HEADER = (
  subgroups: boolean,
  weightWords: 'vec4<u32>' | 'u32' = 'vec4<u32>',
  fusion: MatvecFusion = NO_FUSION,
) => /* wgsl */ `${subgroups ? 'enable subgroups;\ndiagnostic(off, subgroup_uniformity);' : ''}
struct Params {
  columns: u32, rowBytes: u32, units: u32, chunkRows: u32, firstRow: u32, outStride: u32,
  outRows: u32, topK: u32, slots: u32, slotOffset: u32, perSlotInput: u32,${fusionParamsFields(fusion)}
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> weights: array<${weightWords}>;
@group(0) @binding(2) var<storage, read> input: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> extra: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;${fusionBindings(fusion, true)}`;

const BUILTINS = (subgroups: boolean) =>
  `@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32${
    subgroups ? ', @builtin(subgroup_invocation_id) sl: u32, @builtin(subgroup_size) ss: u32' : ''
  }`;

/** WGSL that sums `acc0 … acc{R−1}` over the workgroup into `result` of invocation r < R (row r of the workgroup). */
function rowReduction(R: number, WG: number, subgroups: boolean): string {
  const rows = Array.from({ length: R }, (_, index) => index);
  return subgroups
    ? `
${rows.map((r) => `  let total${r} = subgroupAdd(acc${r});\n  if (sl == 0u) { scratch[${r}u * ${WG}u + li / ss] = total${r}; }`).join('\n')}
  workgroupBarrier();
  if (li < ${R}u) {
    var sum = 0.0;
    for (var k = 0u; k < (${WG}u + ss - 1u) / ss; k++) { sum += scratch[li * ${WG}u + k]; }
    result = sum;
  }`
    : `
${rows.map((r) => `  scratch[${r}u * ${WG}u + li] = acc${r};`).join('\n')}
  workgroupBarrier();
  for (var stride = ${WG / 2}u; stride > 0u; stride >>= 1u) {
    if (li < stride) {
${rows.map((r) => `      scratch[${r}u * ${WG}u + li] += scratch[${r}u * ${WG}u + li + stride];`).join('\n')}
    }
    workgroupBarrier();
  }
  if (li < ${R}u) { result = scratch[li * ${WG}u]; }`;
}

/** WGSL of the kernel (see the file comment). */
export function quantMatvecWgsl(variant: QuantMatvecVariant): string {
  if (variant.type === 'Q6_K') return q6kWgsl(variant);
  return variant.type === 'Q4_K' ? q4kWgsl(variant) : q80Wgsl(variant);
}

function q4kWgsl(variant: QuantMatvecVariant): string {
  const { columns, bias, subgroups, tuning } = variant;
  const fusion = variant.fusion ?? NO_FUSION;
  const R = tuning.rowsPerWorkgroup;
  const WG = q4kWorkgroupSize(columns);
  const units = columns / 64;
  const rows = Array.from({ length: R }, (_, index) => index);
  const words = ['x', 'y', 'z', 'w'];
  // Per row: the header and the two quant vectors of this group, then the 2 sub-block sums.
  const perRow = rows
    .map(
      (r) => `    {
      let rowVec = min(${fusionWeightRow(fusion, R, r)}, params.chunkRows - 1u) * rowVecs + (u >> 2u) * 9u;
      let h = weights[rowVec];
      let q0 = weights[rowVec + 1u + g * 2u];
      let q1 = weights[rowVec + 2u + g * 2u];
      var lo = 0.0;
      var hi = 0.0;
${[0, 1]
  .flatMap((v) =>
    words.map(
      (c, i) =>
        `      lo += dot(low4(q${v}.${c}), x${v * 4 + i});\n      hi += dot(high4(q${v}.${c}), x${8 + v * 4 + i});`,
    ),
  )
  .join('\n')}
      let dm = unpack2x16float(h.x);
      let a = scale_min(h.y, h.z, h.w, g * 2u) * dm;
      let b = scale_min(h.y, h.z, h.w, g * 2u + 1u) * dm;
      acc${r} += a.x * 16.0 * (lo - sumLo) - a.y * sumLo + b.x * 16.0 * (hi - sumHi) - b.y * sumHi;
    }`,
    )
    .join('\n');
  const reduction = rowReduction(R, WG, subgroups);
  return /* wgsl */ `${HEADER(subgroups, 'vec4<u32>', fusion)}
var<workgroup> scratch: array<f32, ${R * WG}>;${fusionFunctions(fusion, WG, subgroups, R)}

// 1 + q/16 for the low / high nibbles of the 4 bytes of w (exact: the nibble lands in mantissa bits 19..22 of 1.0).
fn low4(w: u32) -> vec4<f32> {
  let v = vec4<u32>(w << 19u, w << 11u, w << 3u, w >> 5u);
  return bitcast<vec4<f32>>((v & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u));
}
fn high4(w: u32) -> vec4<f32> {
  let v = vec4<u32>(w << 15u, w << 7u, w >> 1u, w >> 9u);
  return bitcast<vec4<f32>>((v & vec4<u32>(0x00780000u)) | vec4<u32>(0x3f800000u));
}
// Six-bit scale and min of sub-block index (0…7) from the 12 scale bytes (words s0, s1, s2).
fn scale_min(s0: u32, s1: u32, s2: u32, index: u32) -> vec2<f32> {
  let shift = (index & 3u) * 8u;
  let a = (s0 >> shift) & 0xffu;
  let b = (s1 >> shift) & 0xffu;
  let c = (s2 >> shift) & 0xffu;
  let low = vec2<u32>(a & 63u, b & 63u);
  let high = vec2<u32>((c & 15u) | ((a >> 6u) << 4u), (c >> 4u) | ((b >> 6u) << 4u));
  return vec2<f32>(select(high, low, index < 4u));
}

@compute @workgroup_size(${WG})
fn main(${BUILTINS(subgroups)}) {${fusionPrologue(fusion)}
  let firstRow = (group.x + group.y * groups.x) * ${fusionRowStep(fusion, R)}u;
  let rowVecs = params.rowBytes / 16u;
${rows.map((r) => `  var acc${r} = 0.0;`).join('\n')}
  for (var u = li; u < ${units}u; u += ${WG}u) {
    let g = u & 3u;
${Array.from({ length: 16 }, (_, i) => `    let x${i} = ${normalizedInput(fusion, `input[u * 16u + ${i}u]`, `(u * 16u + ${i}u) * 4u`, true)};`).join('\n')}
    let ones = vec4<f32>(1.0);
    let sumLo = dot(x0 + x1 + x2 + x3 + x4 + x5 + x6 + x7, ones);
    let sumHi = dot(x8 + x9 + x10 + x11 + x12 + x13 + x14 + x15, ones);
${perRow}
  }
  var result = 0.0;
${reduction}
${fusionStore(fusion, { rowsPerWorkgroup: R, workgroupSize: WG, subgroups, bias })}
}
`;
}

function q80Wgsl(variant: QuantMatvecVariant): string {
  const { columns, bias, subgroups } = variant;
  const units = columns / 256;
  // Word k of the 272-byte unit: component k & 3 of vector k >> 2.
  const word = (k: number) => `v${k >> 2}.${['x', 'y', 'z', 'w'][k & 3]}`;
  // f = 1 + (q + 128)/256 of byte `offset` of the unit (words pre-xored with 0x80808080); f − 1.5 = q/256 exactly.
  const byte = (offset: number) => {
    const k = offset >> 2;
    const shift = 15 - (offset & 3) * 8;
    const moved = shift >= 0 ? `(s${k} << ${shift}u)` : `(s${k} >> ${-shift}u)`;
    return `((${moved} & 0x007f8000u) | 0x3f800000u)`;
  };
  const block = (b: number) => {
    const base = b * 34;
    const dHalf = (base & 3) === 0 ? 'x' : 'y';
    const dots = Array.from({ length: 8 }, (_, i) => {
      const q = base + 2 + i * 4;
      return `dot(bitcast<vec4<f32>>(vec4<u32>(${byte(q)}, ${byte(q + 1)}, ${byte(q + 2)}, ${byte(q + 3)})) - vec4<f32>(1.5), input[xv + ${b * 8 + i}u])`;
    });
    return `    acc += unpack2x16float(d${base >> 2}).${dHalf} * (${dots.join('\n      + ')});`;
  };
  // The 32 lanes of a subgroup take 32 consecutive rows, the 8 subgroups split the units of those rows: every input
  // load is one address across the subgroup (lanes 272 bytes apart on the input made the loads 2–3× slower).
  return /* wgsl */ `${HEADER(subgroups)}
var<workgroup> scratch: array<f32, 256>;

@compute @workgroup_size(256)
fn main(${BUILTINS(subgroups)}) {
  let lane = li % 32u;
  let split = li / 32u;
  let o = (group.x + group.y * groups.x) * 32u + lane;
  let rowVec = min(o, params.chunkRows - 1u) * (params.rowBytes / 16u);
  var acc = 0.0;
  for (var u = split; u < ${units}u; u += 8u) {
    let unitVec = rowVec + u * 17u;
    let xv = u * 64u;
${Array.from({ length: 17 }, (_, k) => `    let v${k} = weights[unitVec + ${k}u];`).join('\n')}
${Array.from({ length: 68 }, (_, k) => `    let d${k} = ${word(k)};\n    let s${k} = d${k} ^ 0x80808080u;`).join('\n')}
${Array.from({ length: 8 }, (_, b) => block(b)).join('\n')}
  }
  scratch[li] = acc * 256.0;
  workgroupBarrier();
  if (split == 0u && o < params.chunkRows) {
    var total = 0.0;
    for (var k = 0u; k < 8u; k++) { total += scratch[k * 32u + lane]; }
    output[params.firstRow + o] = total${bias ? ' + extra[params.firstRow + o]' : ''};
  }
}
`;
}

/**
 * Q6_K (210-byte blocks of 256: 128 bytes of low nibbles, 64 of 2-bit high parts, 16 signed scales, f16 d): one
 * invocation per 64-column quarter of a block (half h, l = 16q … 16q + 15 of ggml's layout: columns
 * 128h + 32g + 16q + 0…15 for g = 0…3, each 16 under one scale), inputs in registers reused for `rowsPerWorkgroup`
 * rows. Blocks start on even bytes only, so the words are read aligned and shifted by 16 bits where a block starts
 * 2 bytes into a word; 6-bit quants become floats by an exact integer conversion, and the −32 offset is removed once
 * per 16 columns with their input sum.
 */
function q6kWgsl(variant: QuantMatvecVariant): string {
  const { columns, bias, subgroups, tuning } = variant;
  const fusion = variant.fusion ?? NO_FUSION;
  const R = tuning.rowsPerWorkgroup;
  const WG = q4kWorkgroupSize(columns);
  const units = columns / 64;
  const rows = Array.from({ length: R }, (_, index) => index);
  const perRow = rows
    .map(
      (r) => `    {
      let s = min(${fusionWeightRow(fusion, R, r)}, params.chunkRows - 1u) * params.rowBytes + block * 210u;
      let low = words4(s + half * 64u + quarter * 16u);
      let lowHigh = words4(s + half * 64u + 32u + quarter * 16u);
      let top = words4(s + 128u + half * 32u + quarter * 16u);
      let scaleWords = vec2<u32>(word_at(s + 192u + half * 8u), word_at(s + 196u + half * 8u));
      let d = unpack2x16float(word_at(s + 208u)).x;
      var part = vec4<f32>(0.0);
${[0, 1, 2, 3]
  .map(
    (k) => `      {
        let a = low[${k}];
        let b = lowHigh[${k}];
        let h = top[${k}];
        part.x += dot(bytes4((a & 0x0f0f0f0fu) | ((h & 0x03030303u) << 4u)), x0_${k});
        part.y += dot(bytes4((b & 0x0f0f0f0fu) | (((h >> 2u) & 0x03030303u) << 4u)), x1_${k});
        part.z += dot(bytes4(((a >> 4u) & 0x0f0f0f0fu) | (((h >> 4u) & 0x03030303u) << 4u)), x2_${k});
        part.w += dot(bytes4(((b >> 4u) & 0x0f0f0f0fu) | (((h >> 6u) & 0x03030303u) << 4u)), x3_${k});
      }`,
  )
  .join('\n')}
      let scales = vec4<f32>(
        f32(bitcast<i32>(scaleWords.x << (24u - 8u * quarter)) >> 24u),
        f32(bitcast<i32>(scaleWords.x << (8u - 8u * quarter)) >> 24u),
        f32(bitcast<i32>(scaleWords.y << (24u - 8u * quarter)) >> 24u),
        f32(bitcast<i32>(scaleWords.y << (8u - 8u * quarter)) >> 24u));
      acc${r} += d * dot(scales, part - 32.0 * sums);
    }`,
    )
    .join('\n');
  return /* wgsl */ `${HEADER(subgroups, 'u32', fusion)}
var<workgroup> scratch: array<f32, ${R * WG}>;${fusionFunctions(fusion, WG, subgroups, R)}

// The u32 at an even byte offset (2 bytes into a word: the high half of one word and the low half of the next).
fn word_at(byte: u32) -> u32 {
  let index = byte >> 2u;
  let first = weights[index];
  return select(first, (first >> 16u) | (weights[index + 1u] << 16u), (byte & 2u) != 0u);
}
// Four consecutive words from an even byte offset: five aligned loads.
fn words4(byte: u32) -> vec4<u32> {
  let index = byte >> 2u;
  let w = array<u32, 5>(weights[index], weights[index + 1u], weights[index + 2u], weights[index + 3u], weights[index + 4u]);
  if ((byte & 2u) == 0u) { return vec4<u32>(w[0], w[1], w[2], w[3]); }
  return vec4<u32>((w[0] >> 16u) | (w[1] << 16u), (w[1] >> 16u) | (w[2] << 16u), (w[2] >> 16u) | (w[3] << 16u), (w[3] >> 16u) | (w[4] << 16u));
}
// The 4 bytes of w as floats (exact).
fn bytes4(w: u32) -> vec4<f32> {
  return vec4<f32>(vec4<u32>(w, w >> 8u, w >> 16u, w >> 24u) & vec4<u32>(0xffu));
}

@compute @workgroup_size(${WG})
fn main(${BUILTINS(subgroups)}) {${fusionPrologue(fusion)}
  let firstRow = (group.x + group.y * groups.x) * ${fusionRowStep(fusion, R)}u;
${rows.map((r) => `  var acc${r} = 0.0;`).join('\n')}
  for (var u = li; u < ${units}u; u += ${WG}u) {
    let block = u >> 2u;
    let half = (u >> 1u) & 1u;
    let quarter = u & 1u;
    // Column of group g, word k: 256·block + 128·half + 32·g + 16·quarter + 4·k (as vec4 index: / 4).
    let xv = block * 64u + half * 32u + quarter * 4u;
${[0, 1, 2, 3].flatMap((g) => [0, 1, 2, 3].map((k) => `    let x${g}_${k} = ${normalizedInput(fusion, `input[xv + ${g * 8 + k}u]`, `(xv + ${g * 8 + k}u) * 4u`, true)};`)).join('\n')}
    let ones = vec4<f32>(1.0);
    let sums = vec4<f32>(
      dot(x0_0 + x0_1 + x0_2 + x0_3, ones), dot(x1_0 + x1_1 + x1_2 + x1_3, ones),
      dot(x2_0 + x2_1 + x2_2 + x2_3, ones), dot(x3_0 + x3_1 + x3_2 + x3_3, ones));
${perRow}
  }
  var result = 0.0;
${rowReduction(R, WG, subgroups)}
${fusionStore(fusion, { rowsPerWorkgroup: R, workgroupSize: WG, subgroups, bias })}
}
`;
}
