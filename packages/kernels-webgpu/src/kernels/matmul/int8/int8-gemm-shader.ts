import type { Int8SubgroupMatrix } from '../../../device/subgroup-matrix.js';
import { tiledUniforms } from '../tiled-shader.js';
import { type Int8WeightType, int8WeightReaderWgsl } from './int8-weight-blocks.js';
import { packedGemmBody, packedGemmWorkgroupBytes } from './int8-gemm-packed.js';
import {
  stepColumns,
  subgroupMatrixGemmBody,
  subgroupMatrixGemmTile,
  subgroupMatrixGemmWorkgroupBytes,
} from './int8-gemm-subgroup-matrix.js';

/**
 * Tiles of the portable int8 GEMM: a workgroup of 256 invocations computes `rows × out` outputs, each invocation
 * `threadRows × threadOut` of them (multiples of 4), 64 columns (two blocks) per step.
 */
export interface PackedGemmTiling {
  /** Input rows per tile. */
  readonly rows: number;
  /** Outputs (weight rows) per tile. */
  readonly out: number;
  /** Input rows per invocation. */
  readonly threadRows: number;
  /** Outputs per invocation. */
  readonly threadOut: number;
}

/** 128 input rows × 64 outputs, 8 × 4 per invocation (the f32 tiled kernel's default shape); 15 KiB of workgroup memory. */
export const DEFAULT_PACKED_TILING: PackedGemmTiling = { rows: 128, out: 64, threadRows: 8, threadOut: 4 };

/**
 * Tiles of the subgroup-matrix int8 GEMM: `subgroupRows × subgroupCols` subgroups, each computing
 * `matrixRows × matrixCols` result matrices (`M × N` each), 64 columns (two blocks) per step.
 */
export interface SubgroupMatrixGemmTiling {
  /** Subgroups along the input rows. */
  readonly subgroupRows: number;
  /** Subgroups along the outputs. */
  readonly subgroupCols: number;
  /** Result matrices per subgroup along the rows. */
  readonly matrixRows: number;
  /** Result matrices per subgroup along the outputs. */
  readonly matrixCols: number;
  /** Blocks of 32 columns staged per step (1 or 2; 2 when absent). */
  readonly stepBlocks?: 1 | 2;
  /**
   * How each block's i32 results reach workgroup memory to be scaled: `pair` (when absent) stores one result matrix at
   * a time into two alternating regions per subgroup, a barrier each; `block` stores all of a subgroup's results of
   * the block into regions of their own, then one barrier for the block (more workgroup memory, fewer barriers).
   */
  readonly scaling?: 'pair' | 'block';
  /**
   * With `pair` scaling, the results a subgroup stores between two barriers (1 when absent), into one of two
   * alternating sets of regions: fewer barriers for more workgroup memory.
   */
  readonly resultsPerBarrier?: number;
  /**
   * How a result matrix is stored to workgroup memory to be scaled: `row` (when absent, row-major: an invocation's
   * elements share a column, so one weight scale and one input scale per element) or `column` (column-major: they
   * share a row, one input scale and one weight scale per element).
   */
  readonly resultLayout?: 'row' | 'column';
  /**
   * i32 words between the rows (or columns) of a stored result matrix (`N`, or `M` column-major, when absent). A
   * wider stride moves the lines of one store onto other memory banks.
   */
  readonly resultStride?: number;
  /**
   * How a block's i32 result becomes f32: `integer` (when absent) converts it; `mantissa` adds it to the bits of
   * 1.5 · 2²³ and subtracts that float (exact for results under 2²² in magnitude, which a block of 32 int8 products
   * always is): two full-rate operations in place of a conversion some GPUs run at a fraction of their float rate.
   */
  readonly conversion?: 'integer' | 'mantissa';
  /**
   * When a block's multiplies run: `together` (when absent) all before its first store, or `each` just before its
   * result is stored, so that one result's registers are live at a time instead of all of them (more workgroups per
   * core where registers bound them).
   */
  readonly multiply?: 'together' | 'each';
}

/**
 * The probe's fastest structure (`bench/subgroup-matrix-probe.ts`: `shared 128×128 sg2×4 m4×2 k64 prefetch`, 184–227
 * TOPS on an H100 with 16 × 16 × 32 matrices): 8 subgroups, each 4 × 2 result matrices.
 */
export const DEFAULT_SUBGROUP_MATRIX_TILING: SubgroupMatrixGemmTiling = {
  subgroupRows: 2,
  subgroupCols: 4,
  matrixRows: 4,
  matrixCols: 2,
};

/**
 * Subgroup-matrix tiles for the ≤ 32 rows of a batched decode step (`tuning.int8BatchGemm`): 4 subgroups, each 2 × 1
 * result matrices.
 */
export const BATCH_SUBGROUP_MATRIX_TILING: SubgroupMatrixGemmTiling = Object.freeze({
  subgroupRows: 1,
  subgroupCols: 4,
  matrixRows: 2,
  matrixCols: 1,
});

/** Why `tiling` cannot build a subgroup-matrix GEMM, or undefined when it can. */
export function subgroupMatrixTilingProblem(tiling: SubgroupMatrixGemmTiling): string | undefined {
  for (const name of ['subgroupRows', 'subgroupCols', 'matrixRows', 'matrixCols'] as const) {
    const value = tiling[name];
    if (!Number.isInteger(value) || value < 1 || value > 8)
      return `${name} must be an integer from 1 to 8, got ${value}`;
  }
  if (tiling.stepBlocks !== undefined && tiling.stepBlocks !== 1 && tiling.stepBlocks !== 2) {
    return `stepBlocks must be 1 or 2, got ${String(tiling.stepBlocks)}`;
  }
  if (tiling.scaling !== undefined && tiling.scaling !== 'pair' && tiling.scaling !== 'block') {
    return `scaling must be 'pair' or 'block', got ${String(tiling.scaling)}`;
  }
  const perBarrier = tiling.resultsPerBarrier;
  if (perBarrier !== undefined && (!Number.isInteger(perBarrier) || perBarrier < 1 || perBarrier > 64)) {
    return `resultsPerBarrier must be an integer from 1 to 64, got ${perBarrier}`;
  }
  if (tiling.resultLayout !== undefined && tiling.resultLayout !== 'row' && tiling.resultLayout !== 'column') {
    return `resultLayout must be 'row' or 'column', got ${String(tiling.resultLayout)}`;
  }
  const stride = tiling.resultStride;
  if (stride !== undefined && (!Number.isInteger(stride) || stride < 1 || stride > 64)) {
    return `resultStride must be an integer from 1 to 64 (at least the result's columns), got ${stride}`;
  }
  if (tiling.conversion !== undefined && tiling.conversion !== 'integer' && tiling.conversion !== 'mantissa') {
    return `conversion must be 'integer' or 'mantissa', got ${String(tiling.conversion)}`;
  }
  if (tiling.multiply !== undefined && tiling.multiply !== 'together' && tiling.multiply !== 'each') {
    return `multiply must be 'together' or 'each', got ${String(tiling.multiply)}`;
  }
  return undefined;
}

/** How a GEMM variant forms its 32-column integer dot products. */
export type Int8GemmInner =
  | { readonly kind: 'packed'; readonly tiling: PackedGemmTiling }
  | {
      readonly kind: 'subgroup-matrix';
      readonly matrix: Int8SubgroupMatrix;
      readonly tiling: SubgroupMatrixGemmTiling;
    };

/** What an int8 GEMM kernel is specialised for. */
export interface Int8GemmVariant {
  /** The weight type (its block reader is compiled in). */
  readonly type: Int8WeightType;
  /** Adds an f32 `bias` `[out]` to every output row. */
  readonly bias: boolean;
  /** `dot4I8Packed` tiles (portable) or subgroup matrices. */
  readonly inner: Int8GemmInner;
}

/** Storage bindings (from 1): weights, activation quants, activation scales, activation sums, bias, output. */
export const INT8_GEMM_STORAGE = ['read', 'read', 'read', 'read', 'read', 'write'] as const;

/** The cache key of a variant. */
export function int8GemmKey(variant: Int8GemmVariant): string {
  const { type, bias, inner } = variant;
  const base = `int8-gemm:${type}:b=${bias ? 1 : 0}`;
  if (inner.kind === 'packed') {
    const { rows, out, threadRows, threadOut } = inner.tiling;
    return `${base}:packed:t=${rows}x${out}/${threadRows}x${threadOut}`;
  }
  const { M, N, K, subgroupSize } = inner.matrix;
  const { subgroupRows, subgroupCols, matrixRows, matrixCols } = inner.tiling;
  const shape = `${subgroupRows}x${subgroupCols}/${matrixRows}x${matrixCols}`;
  const { scaling = 'pair', resultsPerBarrier = 1, resultLayout = 'row', resultStride = 0 } = inner.tiling;
  const { conversion = 'integer', multiply = 'together' } = inner.tiling;
  const result = `${resultLayout}${resultStride}/${conversion}/${multiply}/b${resultsPerBarrier}`;
  return `${base}:sgmatrix:${M}x${N}x${K}/sg${subgroupSize}:t=${shape}/k${stepColumns(inner.tiling)}/${scaling}/${result}`;
}

/** Input rows and outputs one workgroup computes (grid: x = `ceil(chunk rows / out)`, y = `ceil(rows / rows)`). */
export function int8GemmTile(variant: Int8GemmVariant): { rows: number; out: number } {
  const { inner } = variant;
  if (inner.kind === 'packed') return { rows: inner.tiling.rows, out: inner.tiling.out };
  return subgroupMatrixGemmTile(inner.matrix, inner.tiling);
}

/** Bytes of workgroup memory the variant declares (to check against `maxComputeWorkgroupStorageSize`). */
export function int8GemmWorkgroupBytes(variant: Int8GemmVariant): number {
  const { inner } = variant;
  return inner.kind === 'packed'
    ? packedGemmWorkgroupBytes(inner.tiling)
    : subgroupMatrixGemmWorkgroupBytes(inner.matrix, inner.tiling);
}

/**
 * Uniform words: the tiled kernel's (`tiledUniforms`: `columns, rowBytes, inputRows, chunkRows, firstRow, outStride`),
 * then `blocks` (blocks of 32 per row).
 */
export function int8GemmUniforms(
  columns: number,
  rowBytes: number,
  inputRows: number,
  chunkRows: number,
  firstRow: number,
  outStride: number,
): Uint32Array {
  return Uint32Array.of(...tiledUniforms(columns, rowBytes, inputRows, chunkRows, firstRow, outStride), columns / 32);
}

/**
 * The WGSL every variant shares: bindings, the weight block reader (`int8-weight-blocks.ts`), and guarded loads and
 * stores. Loads past the input rows, the chunk's weight rows or the row's blocks give zeros (quants and scales), so a
 * tile's padding adds nothing. `activation_scale_pair` is `(d_a, d_a · Σ q_a)`; `weight_scale` is `(d_w, m_w)`.
 */
function commonWgsl(variant: Int8GemmVariant): string {
  const { type, bias } = variant;
  return /* wgsl */ `
struct Params { columns: u32, rowBytes: u32, inputRows: u32, chunkRows: u32, firstRow: u32, outStride: u32, blocks: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> weights: array<u32>;
@group(0) @binding(2) var<storage, read> quants: array<vec4<u32>>;
@group(0) @binding(3) var<storage, read> scales: array<f32>;
@group(0) @binding(4) var<storage, read> sums: array<i32>;
@group(0) @binding(5) var<storage, read> bias: array<f32>;
@group(0) @binding(6) var<storage, read_write> output: array<f32>;
${int8WeightReaderWgsl(type)}
// 16 activation quants of row \`row\` from column 16 · vector (zeros past the rows or the row's end).
fn activation_quants(row: u32, vector: u32) -> vec4<u32> {
  if (row >= params.inputRows || vector * 16u >= params.columns) { return vec4<u32>(0u); }
  return quants[row * (params.columns / 16u) + vector];
}
fn activation_scale_pair(row: u32, block: u32) -> vec2<f32> {
  if (row >= params.inputRows || block >= params.blocks) { return vec2<f32>(0.0); }
  let d = scales[row * params.blocks + block];
  return vec2<f32>(d, ${type === 'Q4_K' ? 'd * f32(sums[row * params.blocks + block])' : '0.0'});
}
fn weight_quants(o: u32, block: u32, half: u32) -> vec4<u32> {
  if (o >= params.chunkRows || block >= params.blocks) { return vec4<u32>(0u); }
  return block_quants(o * params.rowBytes, block, half);
}
fn weight_scale(o: u32, block: u32) -> vec2<f32> {
  if (o >= params.chunkRows || block >= params.blocks) { return vec2<f32>(0.0); }
  return block_scale(o * params.rowBytes, block);
}
fn store(row: u32, o: u32, value: f32) {
  if (row < params.inputRows && o < params.chunkRows) {
    output[row * params.outStride + params.firstRow + o] = value${bias ? ' + bias[params.firstRow + o]' : ''};
  }
}
`;
}

/**
 * WGSL of the int8 GEMM: `output[r][firstRow + o] = Σ_b (d_w · d_a · Σ q_w q_a − m_w · d_a · Σ q_a) (+ bias)` over
 * blocks of 32 columns, the integer sums exact, the scaling in f32. `inner` chooses how the integer sums are formed:
 * `packed` (`dot4I8Packed`, core WGSL; `int8-gemm-packed.ts`) or `subgroup-matrix` (Dawn's
 * `chromium_experimental_subgroup_matrix`; `int8-gemm-subgroup-matrix.ts`). The min term is compiled only for Q4_K.
 */
export function int8GemmWgsl(variant: Int8GemmVariant): string {
  const common = commonWgsl(variant);
  const minimum = variant.type === 'Q4_K';
  const { inner } = variant;
  if (inner.kind === 'packed') return packedGemmBody(common, inner.tiling, minimum);
  return subgroupMatrixGemmBody(common, inner.matrix, inner.tiling, minimum);
}
