import type { WeightType } from '@strata/core';
import { fusionKey, type MatvecFusion, NO_FUSION, normalizedInput } from './matvec-fusion.js';
import { q4kMatvecWgsl, q4kTuningKey, q4kTuningProblem, q4kWorkgroupSize } from './q4k-matvec-shader.js';
import { q80MatvecWgsl, q80RowsPerWorkgroup } from './q80-matvec-shader.js';
import { groupWorkgroupSize } from './quant-matvec-header.js';
import { registerRowsKernel } from './register-rows-kernel.js';
import { Q6K_WORD_READS_WGSL } from './q6k-word-reads.js';

/**
 * One-input-row mat-vec kernels specialised for Q4_K, Q6_K and Q8_0 (decode), built to stay memory-bound:
 *
 * - Q4_K and Q8_0 `rows` read weights as `vec4<u32>` (16-byte loads) through an `array<vec4<u32>>` binding of the
 *   chunk, Q6_K and Q8_0 `group` as aligned `u32` words; this needs every row to start on a 16-byte boundary, hence
 *   `columns % 256 == 0` for every type;
 * - an invocation owns whole pieces of a row (Q4_K: see `q4k-matvec-shader.ts`, Q6_K: 64 columns of a block, Q8_0:
 *   see `q80-matvec-shader.ts`), so the scales are decoded once per sub-block / block, not once per 16 weights;
 * - Q8_0 and Q4_K's default `mantissa` conversion turn quants into floats without integer→float conversions: the
 *   quant bits are OR-ed into the top of the mantissa of 1.0 (`1 + q/16` for a nibble, `1 + (q + 128)/256` for a signed
 *   byte); every step is exact and the values stay in [1, 2), so no driver reassociation can lose precision (unlike the
 *   `2^23` trick, see BENCHMARKS.md). The offset is removed once per sub-block with the sub-block's input sum (Q4_K)
 *   or per element by an exact subtraction (Q8_0);
 * - Q4_K (layouts `group`, `vector`), Q8_0 `group` and Q6_K keep their input values in registers and reuse them for
 *   `rowsPerWorkgroup` weight rows.
 *
 * Bindings and `Params` are those of `matvec-shader.ts` (`matvecUniforms`); grid: `ceil(chunkRows / rowsPerWorkgroup)`
 * groups, linear over x and y.
 */

/**
 * How a kernel spreads rows over invocations. Q4_K (`q4k-matvec-shader.ts`): `group` (the first kernel and the
 * default, one invocation per 64 columns), `vector` (one per 32 columns) or `rows` (lanes over rows). Q8_0
 * (`q80-matvec-shader.ts`): `rows` (the first kernel and the default) or `group`. Q6_K has one layout and ignores it.
 */
export type QuantMatvecLayout = 'group' | 'vector' | 'rows';

/** Tunables of the quantized one-row mat-vec (defaults: {@link DEFAULT_QUANT_TUNING}). */
export interface QuantMatvecTuning {
  /** Output rows per workgroup (Q8_0 `rows`: unused, 32). */
  readonly rowsPerWorkgroup: number;
  /** Q4_K and Q8_0: the layout (default `group` for Q4_K, `rows` for Q8_0; `Q4K_MATVEC_TUNING` routes Q4_K to `vector`). */
  readonly layout?: QuantMatvecLayout;
  /** Q4_K `vector` and `rows`: invocations per workgroup, a power of two up to 256 (default 64 and 256). */
  readonly workgroupSize?: number;
  /**
   * Q4_K and Q8_0 `group`: how quants become floats: `mantissa` (OR-ed into the mantissa of 1.0, integer
   * instructions only; the Q4_K default) or `integer` (`u32/i32 → f32` conversions, as the Q6_K kernel; the Q8_0
   * default). Q4_K and Q8_0 `group` only: `int8`, the inputs rounded to 8 bits in blocks of 32 inside the kernel and
   * multiplied with the quants four at a time by `dot4I8Packed` (llama.cpp's contract for quantized products; not exact).
   */
  readonly conversion?: 'mantissa' | 'integer' | 'int8';
}

/** The first Q6_K tuning (and Q4_K's before the layouts), measured best on an NVIDIA H200; Q6_K now routes {@link Q6K_MATVEC_TUNING}. */
export const DEFAULT_QUANT_TUNING: QuantMatvecTuning = { rowsPerWorkgroup: 8 };

/**
 * The Q4_K kernel `matmul` and the fused projections route one-row products to: change this one constant to route
 * another layout (compare them with `bench/matvec-bench.ts --quant`). A backend's `tuning.quantMatvec` option overrides it.
 * `vector`, 4 rows per workgroup of 64: on an H100, tg128 of 8B Q4_K_M rose from 117 to 152 tok/s and of 1B Q4_K_M from
 * 357 to 480 against `group` with 8 rows (see BENCHMARKS.md).
 */
export const Q4K_MATVEC_TUNING: QuantMatvecTuning = { layout: 'vector', rowsPerWorkgroup: 4, workgroupSize: 64 };

/**
 * The Q6_K tuning `matmul` and the fused projections route one-row products to: 2 rows per workgroup. On an H100,
 * tg128 of 1B Q4_K_M (whose LM head and half of whose `ffn_down` are Q6_K) rose from about 517 to 598–662 tok/s and of
 * 8B Q4_K_M from 150–157 to 169–186 against {@link DEFAULT_QUANT_TUNING}'s 8 rows; 1 and 4 rows were between (see
 * BENCHMARKS.md in `@strata/pipeline`).
 */
export const Q6K_MATVEC_TUNING: QuantMatvecTuning = { rowsPerWorkgroup: 2 };

/** A tuning per quantized type with a specialised one-row kernel (the backend's `tuning.quantMatvec`: tests, benchmarks). */
export type QuantMatvecTunings = { readonly [type in 'Q4_K' | 'Q6_K' | 'Q8_0']?: QuantMatvecTuning };

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
  /** Q4_K and Q8_0 read every field they use, Q6_K `rowsPerWorkgroup` (part of the cache key). */
  readonly tuning: QuantMatvecTuning;
  /**
   * Fused RMS norm (in the same pass) and store epilogue (`matvec-fusion.ts`; Q4_K (every layout), Q6_K and Q8_0 `group` only, see
   * {@link quantMatvecFusable}); default {@link NO_FUSION}.
   */
  readonly fusion?: MatvecFusion;
  /**
   * Input rows per row group (workgroup z) of a batched product, 1 (the default) for one row: only the kernels with
   * inputs in registers (see {@link quantMatvecBatchable}); each row equals the one-row product of that row.
   */
  readonly inputRows?: number;
}

/**
 * True when {@link quantMatvecWgsl} handles weights of `type` with `columns` columns. `matmul` routes Q4_K and Q6_K
 * here: on the H200 the Q8_0 `rows` kernel did not beat the wide kernel (BENCHMARKS.md), so Q8_0 comes here only
 * when a backend's `tuning.quantMatvec` asks for it.
 */
export function quantMatvecSupported(type: WeightType, columns: number): type is 'Q4_K' | 'Q6_K' | 'Q8_0' {
  return (type === 'Q4_K' || type === 'Q6_K' || type === 'Q8_0') && columns > 0 && columns % 256 === 0;
}

/**
 * True when the kernel of `type` and `tuning` takes a {@link MatvecFusion} other than {@link NO_FUSION}: Q4_K (every
 * layout), Q6_K and Q8_0 `group`.
 */
export function quantMatvecFusable(type: WeightType, tuning?: QuantMatvecTuning): boolean {
  return type === 'Q4_K' || type === 'Q6_K' || (type === 'Q8_0' && tuning?.layout === 'group');
}

/**
 * True when the kernel of `type` and `tuning` keeps its inputs in registers (`register-rows-kernel.ts`) and so runs
 * row groups of a batched product ({@link QuantMatvecVariant.inputRows}): Q4_K `group` and `vector`, Q6_K, Q8_0 `group`.
 */
export function quantMatvecBatchable(type: WeightType, tuning: QuantMatvecTuning): boolean {
  if (type === 'Q6_K') return true;
  if (type === 'Q4_K') return (tuning.layout ?? 'group') !== 'rows';
  return type === 'Q8_0' && tuning.layout === 'group';
}

/** Invocations per workgroup of the kernel of `type` and `tuning` over rows of `columns` columns. */
export function quantMatvecWorkgroupSize(
  type: 'Q4_K' | 'Q6_K' | 'Q8_0',
  columns: number,
  tuning: QuantMatvecTuning,
): number {
  if (type === 'Q4_K') return q4kWorkgroupSize(columns, tuning);
  return type === 'Q8_0' && tuning.layout !== 'group' ? 256 : groupWorkgroupSize(columns);
}

/** Why `tuning` cannot build a kernel for `type`, or undefined when it can. */
export function quantTuningProblem(type: string, tuning: QuantMatvecTuning): string | undefined {
  if (type !== 'Q4_K' && type !== 'Q6_K' && type !== 'Q8_0') return `${type} has no specialised one-row kernel`;
  if (type === 'Q4_K') return q4kTuningProblem(tuning);
  if (type === 'Q6_K' && tuning.conversion === 'int8') return 'the int8 conversion is for Q4_K and Q8_0';
  if (type === 'Q8_0' && tuning.layout !== 'group') {
    return tuning.conversion === 'int8' ? 'the int8 conversion needs the group layout' : undefined;
  }
  const rows = tuning.rowsPerWorkgroup;
  return Number.isInteger(rows) && rows >= 1 && rows <= 64 ? undefined : `rowsPerWorkgroup must be 1…64, got ${rows}`;
}

/** Output rows one workgroup computes. */
export function quantMatvecRowsPerWorkgroup(variant: QuantMatvecVariant): number {
  return variant.type === 'Q8_0' ? q80RowsPerWorkgroup(variant) : variant.tuning.rowsPerWorkgroup;
}

function q80Knobs(tuning: QuantMatvecTuning): string {
  if (tuning.layout !== 'group') return 'rows32';
  const conversion = tuning.conversion === 'mantissa' || tuning.conversion === 'int8' ? `:${tuning.conversion}` : '';
  return `r=${tuning.rowsPerWorkgroup}:group${conversion}`;
}

/** The cache key of a variant. */
export function quantMatvecKey(variant: QuantMatvecVariant): string {
  const { type, columns, bias, subgroups, tuning } = variant;
  const knobs =
    type === 'Q8_0' ? q80Knobs(tuning) : `r=${tuning.rowsPerWorkgroup}${type === 'Q4_K' ? q4kTuningKey(tuning) : ''}`;
  const inputRows = (variant.inputRows ?? 1) === 1 ? '' : `:in=${variant.inputRows}`;
  return `matvec-quant:${type}:c=${columns}:b=${bias ? 1 : 0}:sg=${subgroups ? 1 : 0}:${knobs}${inputRows}${fusionKey(variant.fusion ?? NO_FUSION)}`;
}

/** WGSL of the kernel (see the file comment). */
export function quantMatvecWgsl(variant: QuantMatvecVariant): string {
  if (variant.type === 'Q6_K') return q6kWgsl(variant);
  return variant.type === 'Q4_K' ? q4kMatvecWgsl(variant) : q80MatvecWgsl(variant);
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
  const fusion = variant.fusion ?? NO_FUSION;
  return registerRowsKernel(variant, {
    weightWords: 'u32',
    workgroupSize: groupWorkgroupSize(variant.columns),
    units: variant.columns / 64,
    functions: `${Q6K_WORD_READS_WGSL}
// The 4 bytes of w as floats (exact).
fn bytes4(w: u32) -> vec4<f32> {
  return vec4<f32>(vec4<u32>(w, w >> 8u, w >> 16u, w >> 24u) & vec4<u32>(0xffu));
}`,
    loads: (input) => `    let block = u >> 2u;
    let half = (u >> 1u) & 1u;
    let quarter = u & 1u;
    // Column of group g, word k: 256·block + 128·half + 32·g + 16·quarter + 4·k (as vec4 index: / 4).
    let xv = block * 64u + half * 32u + quarter * 4u;
${[0, 1, 2, 3].flatMap((g) => [0, 1, 2, 3].map((k) => `    let x${g}_${k} = ${normalizedInput(fusion, `input[${input.base}xv + ${g * 8 + k}u]`, `(xv + ${g * 8 + k}u) * 4u`, true, input.squares)};`)).join('\n')}
    let ones = vec4<f32>(1.0);
    let sums = vec4<f32>(
      dot(x0_0 + x0_1 + x0_2 + x0_3, ones), dot(x1_0 + x1_1 + x1_2 + x1_3, ones),
      dot(x2_0 + x2_1 + x2_2 + x2_3, ones), dot(x3_0 + x3_1 + x3_2 + x3_3, ones));`,
    row: (_, weightRow, accumulator) => `      let s = ${weightRow} * params.rowBytes + block * 210u;
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
      ${accumulator} += d * dot(scales, part - 32.0 * sums);`,
  });
}
