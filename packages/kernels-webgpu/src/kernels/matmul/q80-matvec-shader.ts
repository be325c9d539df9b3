import { NO_FUSION } from './matvec-fusion.js';
import { groupWorkgroupSize, quantMatvecBuiltins, quantMatvecHeader } from './quant-matvec-header.js';
import type { QuantMatvecVariant } from './quant-matvec-shader.js';
import { groupInputs, registerRowsKernel } from './register-rows-kernel.js';
import { WGSL_ACTIVATION_SCALE } from './int8/activation-quantization-shader.js';
import { int8InputsWgsl, sumOfEightWgsl } from './int8-inputs-wgsl.js';

/**
 * The one-row Q8_0 mat-vec kernels (decode), by the tuning's `layout` (`QuantMatvecTuning`). A Q8_0 block is 34 bytes: an f16
 * scale d then 32 signed bytes; rows are 16-byte aligned since `columns % 256 == 0`.
 *
 * - `rows` (the default for Q8_0, the first kernel; 32 rows per workgroup, no fusion): the 32 lanes of a subgroup take
 *   32 consecutive rows and the 8 subgroups split the 272-byte units (8 blocks) of those rows, so every input load is
 *   one address across the subgroup; bytes become `1 + (q + 128)/256` in the mantissa of 1.0, minus 1.5 exactly;
 * - `group`: one invocation per 64 columns (2 blocks = 68 bytes = 17 aligned words, read as `u32`), its 64 inputs in
 *   registers reused for `rowsPerWorkgroup` rows (like the Q4_K `group` and Q6_K kernels); the first block's quants
 *   start 2 bytes into a word and are shifted into place; `conversion` `integer` (default here) converts sign-extended
 *   bytes, `mantissa` uses the bit trick of `rows`, `int8` rounds the 64 inputs to 8 bits (two blocks of 32, see
 *   `int8-inputs-wgsl.ts`) and multiplies them with the quants four at a time by `dot4I8Packed`. Takes the fused norm
 *   and store epilogues.
 */
export function q80MatvecWgsl(variant: QuantMatvecVariant): string {
  return variant.tuning.layout === 'group' ? groupWgsl(variant) : rowsWgsl(variant);
}

/** Output rows one workgroup of the Q8_0 kernel of `variant` computes. */
export function q80RowsPerWorkgroup(variant: QuantMatvecVariant): number {
  return variant.tuning.layout === 'group' ? variant.tuning.rowsPerWorkgroup : 32;
}

const WORDS = ['x', 'y', 'z', 'w'] as const;

/** `(a + b) + (c + d)` of four terms: two independent chains instead of one. */
function tree(terms: readonly string[]): string {
  return `(${terms[0]} + ${terms[1]}) + (${terms[2]} + ${terms[3]})`;
}

/** What the `group` kernels share: `u32` weight words, one invocation per 64-column unit, `rowWords`. */
function groupFrame(columns: number) {
  return {
    weightWords: 'u32',
    workgroupSize: groupWorkgroupSize(columns),
    units: columns / 64,
    setup: '  let rowWords = params.rowBytes / 4u;',
  } as const;
}

/** The 17 words `w0` … `w16` of unit `u` (two blocks, 68 bytes) of weight row `weightRow`. */
function unitWords(weightRow: string): string {
  return `      let base = ${weightRow} * rowWords + u * 17u;
${Array.from({ length: 17 }, (_, k) => `      let w${k} = weights[base + ${k}u];`).join('\n')}`;
}

function groupWgsl(variant: QuantMatvecVariant): string {
  if (variant.tuning.conversion === 'int8') return groupInt8Wgsl(variant);
  const fusion = variant.fusion ?? NO_FUSION;
  const mantissa = variant.tuning.conversion === 'mantissa';
  // Quant word k (0…7) of the unit's first block (bytes 2 + 4k …) and second block (bytes 36 + 4k …).
  const first = (k: number) => `(w${k} >> 16u) | (w${k + 1} << 16u)`;
  const second = (k: number) => `w${9 + k}`;
  const half = (word: (k: number) => string, offset: number, part: number) =>
    tree(WORDS.map((_, i) => `dot(bytes4(${word(4 * part + i)}), x${offset + 4 * part + i})`));
  const bytes = mantissa
    ? `// 1 + (q + 128)/256 − 1.5 = q/256 for the 4 signed bytes of w (exact: the flipped byte lands in mantissa bits
// 15..22 of 1.0).
fn bytes4(w: u32) -> vec4<f32> {
  let s = w ^ 0x80808080u;
  let v = vec4<u32>(s << 15u, s << 7u, s >> 1u, s >> 9u);
  return bitcast<vec4<f32>>((v & vec4<u32>(0x007f8000u)) | vec4<u32>(0x3f800000u)) - vec4<f32>(1.5);
}`
    : `// The 4 signed bytes of w as floats (exact).
fn bytes4(w: u32) -> vec4<f32> {
  return vec4<f32>(bitcast<vec4<i32>>(vec4<u32>(w << 24u, w << 16u, w << 8u, w)) >> vec4<u32>(24u));
}`;
  return registerRowsKernel(variant, {
    ...groupFrame(variant.columns),
    functions: bytes,
    loads: (input) => groupInputs(fusion, input),
    row: (_, weightRow, accumulator) => `${unitWords(weightRow)}
      let a = (${half(first, 0, 0)})
        + (${half(first, 0, 1)});
      let b = (${half(second, 8, 0)})
        + (${half(second, 8, 1)});
      ${accumulator} += unpack2x16float(w0).x * a + unpack2x16float(w8).y * b;`,
    ...(mantissa ? { after: (accumulator: string) => `  ${accumulator} *= 256.0;` } : {}),
  });
}

function groupInt8Wgsl(variant: QuantMatvecVariant): string {
  const fusion = variant.fusion ?? NO_FUSION;
  // Quant word k (0…7) of the unit's first block (bytes 2 + 4k …, shifted into place) and second block (bytes 36 + 4k …).
  const first = (k: number) => `dot4I8Packed((w${k} >> 16u) | (w${k + 1} << 16u), xq${k})`;
  const second = (k: number) => `dot4I8Packed(w${9 + k}, xq${8 + k})`;
  return registerRowsKernel(variant, {
    ...groupFrame(variant.columns),
    functions: WGSL_ACTIVATION_SCALE,
    loads: (input) => `${groupInputs(fusion, input)}\n${int8InputsWgsl()}`,
    row: (_, weightRow, accumulator) => `${unitWords(weightRow)}
      let a = ${sumOfEightWgsl(first)};
      let b = ${sumOfEightWgsl(second)};
      ${accumulator} += unpack2x16float(w0).x * xd0 * f32(a) + unpack2x16float(w8).y * xd1 * f32(b);`,
  });
}

function rowsWgsl(variant: QuantMatvecVariant): string {
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
  return /* wgsl */ `${quantMatvecHeader(subgroups)}
var<workgroup> scratch: array<f32, 256>;

@compute @workgroup_size(256)
fn main(${quantMatvecBuiltins(subgroups)}) {
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
