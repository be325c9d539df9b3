import type { WeightType } from '@strata/core';
import { rowsWordAligned, weightReaderWgsl } from '../../wgsl/dequantize/index.js';

/**
 * The tile shape of the tiled mat-mul: a 256-invocation workgroup computes `rows × out` outputs, each invocation
 * `threadRows × threadOut` of them (register blocking), stepping through the columns `depth` at a time. Workgroup memory:
 * `(rows + out) · depth · 4` bytes, kept ≤ 16 KiB (WebGPU's default limit). Each tile of a step (`rows · depth / 4` and
 * `out · depth / 4` vec4s) is loaded by the 256 invocations evenly: a multiple of 256 vec4s, or a divisor of 256.
 */
export interface TiledTuning {
  /** Input rows per tile. */
  readonly rows: number;
  /** Output columns (weight rows) per tile. */
  readonly out: number;
  /** Input rows per invocation: 4 or 8. */
  readonly threadRows: number;
  /** Output columns per invocation: 4 or 8. */
  readonly threadOut: number;
  /** Columns per step. */
  readonly depth: number;
}

/** 64 × 64 tiles, 4 × 4 per invocation, 32 columns per step (the tiling before register blocking; bench only). */
export const SMALL_TILES: TiledTuning = { rows: 64, out: 64, threadRows: 4, threadOut: 4, depth: 32 };
/** 128 × 128 tiles, 8 × 8 per invocation, 16 columns per step (bench only: too few workgroups on 1B shapes). */
export const LARGE_TILES: TiledTuning = { rows: 128, out: 128, threadRows: 8, threadOut: 8, depth: 16 };
/**
 * 32 input rows × 128 outputs, 4 × 4 per invocation, 16 columns per step (bench only: on an H100 a batched decode step
 * of 32 sequences took 23 ms with it against far less with the row-grouped mat-vec, as few outputs per workgroup
 * leave most of the GPU idle on 2048-wide weights; see BENCHMARKS.md).
 */
export const BATCH_TILES_32: TiledTuning = { rows: 32, out: 128, threadRows: 4, threadOut: 4, depth: 16 };
/** 16 input rows × 256 outputs, 4 × 4 per invocation, 8 columns per step (bench only, as {@link BATCH_TILES_32}). */
export const BATCH_TILES_16: TiledTuning = { rows: 16, out: 256, threadRows: 4, threadOut: 4, depth: 8 };
/**
 * The default: 128 input rows × 64 outputs, 8 × 4 per invocation, 16 columns per step. Fastest of the four tilings
 * `bench --tiled` compares on every 1B and 8B shape measured on an H100 (27–31 TFLOP/s at 512 rows against 20–22 for
 * {@link SMALL_TILES}; see BENCHMARKS.md).
 */
export const DEFAULT_TILES: TiledTuning = { rows: 128, out: 64, threadRows: 8, threadOut: 4, depth: 16 };

/** What a tiled mat-mul kernel is specialised for. */
export interface TiledVariant {
  /** Weight type as stored on the GPU (`GpuWeight.storedType`); selects the dequantizer compiled in. */
  readonly type: WeightType;
  /** Columns (decides whether input rows are vec4-aligned and weight rows word-aligned). */
  readonly columns: number;
  /** Adds an f32 `bias` `[out]` to every output row. */
  readonly bias: boolean;
  /** The tile shape (default {@link DEFAULT_TILES}). */
  readonly tuning?: TiledTuning;
}

/** Storage bindings (from binding 1): weights, input, bias, output. */
export const TILED_STORAGE = ['read', 'read', 'read', 'write'] as const;

/** The cache key of a variant. */
export function tiledKey(variant: TiledVariant): string {
  const { type, columns, bias } = variant;
  const { rows, out, threadRows, threadOut, depth } = variant.tuning ?? DEFAULT_TILES;
  return `matmul-tiled:${type}:${columns % 4 === 0 ? 'v4' : 'ragged'}:${rowsWordAligned(type, columns) ? 'a' : 'u'}:b=${bias ? 1 : 0}:t=${rows}x${out}/${threadRows}x${threadOut}/${depth}`;
}

/** Uniform words: `columns, rowBytes, inputRows, chunkRows, firstRow, outStride`. */
export function tiledUniforms(
  columns: number,
  rowBytes: number,
  inputRows: number,
  chunkRows: number,
  firstRow: number,
  outStride: number,
): Uint32Array {
  return new Uint32Array([columns, rowBytes, inputRows, chunkRows, firstRow, outStride]);
}

/**
 * WGSL of the prefill mat-mul (see {@link TiledTuning}). Each step stages `depth` columns of the tile's input rows and
 * dequantizes `depth` columns of its weight rows into workgroup memory, k-major in vec4s of 4 consecutive rows, so the
 * inner loop reads `threadRows / 4` input vec4s and `threadOut / 4` weight vec4s per column and does
 * `threadRows · threadOut` multiply-adds with them. An invocation's rows are the vec4 groups `ty + b · rows/threadRows`
 * (likewise for outputs), so neighbouring invocations read neighbouring vec4s. Grid: x = `ceil(chunkRows / out)`,
 * y = `ceil(inputRows / rows)`.
 */
export function tiledWgsl(variant: TiledVariant): string {
  const { type, columns, bias } = variant;
  const tuning = variant.tuning ?? DEFAULT_TILES;
  const { rows: TM, out: TN, threadRows: RM, threadOut: RN, depth: TK } = tuning;
  const threadsY = TM / RM;
  const threadsX = TN / RN;
  const slotsA = (TM * TK) / 4; // vec4 loads per step of the input tile
  const slotsW = (TN * TK) / 4;
  const evenLoads = (slots: number) => slots % 256 === 0 || 256 % slots === 0;
  if (
    threadsX * threadsY !== 256 ||
    RM % 4 !== 0 ||
    RN % 4 !== 0 ||
    TK % 4 !== 0 ||
    !evenLoads(slotsA) ||
    !evenLoads(slotsW)
  ) {
    throw new Error(`tiled mat-mul: unsupported tiling ${JSON.stringify(tuning)}`);
  }
  const vector = columns % 4 === 0;
  const groupsA = TM / 4; // vec4 slots per k of the input tile
  const groupsW = TN / 4;
  const blocksA = RM / 4;
  const blocksW = RN / 4;
  const inputRead = vector
    ? `var<storage, read> input: array<vec4<f32>>;
fn x4(row: u32, column: u32) -> vec4<f32> { return input[(row * params.columns + column) >> 2u]; }`
    : `var<storage, read> input: array<f32>;
fn x4(row: u32, column: u32) -> vec4<f32> {
  var values = vec4<f32>(0.0);
  for (var i = 0u; i < 4u; i++) { if (column + i < params.columns) { values[i] = input[row * params.columns + column + i]; } }
  return values;
}`;
  const guard = vector
    ? ''
    : 'w = select(vec4<f32>(0.0), w, (vec4<u32>(column) + vec4<u32>(0u, 1u, 2u, 3u)) < vec4<u32>(params.columns));';
  // Loads per invocation and step; a tile of fewer than 256 vec4s leaves the invocations past it idle.
  const loadsA = Math.ceil(slotsA / 256);
  const loadsW = Math.ceil(slotsW / 256);
  const idleA = slotsA < 256 ? `if (li >= ${slotsA}u) { continue; }\n      ` : '';
  const idleW = slotsW < 256 ? `if (li >= ${slotsW}u) { continue; }\n      ` : '';
  const components = ['x', 'y', 'z', 'w'];
  const inner: string[] = [];
  for (let b = 0; b < blocksA; b++) inner.push(`      let a${b} = tileA[k * ${groupsA}u + ty + ${b * threadsY}u];`);
  for (let b = 0; b < blocksW; b++) inner.push(`      let w${b} = tileW[k * ${groupsW}u + tx + ${b * threadsX}u];`);
  for (let b = 0; b < blocksA; b++) {
    for (let c = 0; c < 4; c++) {
      for (let v = 0; v < blocksW; v++) {
        inner.push(`      acc[${(b * 4 + c) * blocksW + v}] += a${b}.${components[c]} * w${v};`);
      }
    }
  }
  const stores: string[] = [];
  for (let b = 0; b < blocksA; b++) {
    for (let c = 0; c < 4; c++) {
      stores.push(`  {
    let row = firstRow + (ty + ${b * threadsY}u) * 4u + ${c}u;
    if (row < params.inputRows) {
${Array.from({ length: blocksW }, (_, v) => `      store(row, firstOut + (tx + ${v * threadsX}u) * 4u, acc[${(b * 4 + c) * blocksW + v}]);`).join('\n')}
    }
  }`);
    }
  }
  return /* wgsl */ `
struct Params { columns: u32, rowBytes: u32, inputRows: u32, chunkRows: u32, firstRow: u32, outStride: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> weights: array<u32>;
@group(0) @binding(2) ${inputRead}
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;
${weightReaderWgsl(type, columns)}
// tileA[k * ${groupsA} + r / 4][r % 4]: input row r, column k of the step; tileW likewise for weight rows.
var<workgroup> tileA: array<vec4<f32>, ${TK * groupsA}>;
var<workgroup> tileW: array<vec4<f32>, ${TK * groupsW}>;

fn store(row: u32, first: u32, values: vec4<f32>) {
  for (var j = 0u; j < 4u; j++) {
    let o = first + j;
    if (o < params.chunkRows) {
      output[row * params.outStride + params.firstRow + o] = values[j]${bias ? ' + bias[params.firstRow + o]' : ''};
    }
  }
}

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) li: u32) {
  let tx = li % ${threadsX}u;
  let ty = li / ${threadsX}u;
  let firstOut = group.x * ${TN}u;
  let firstRow = group.y * ${TM}u;
  var acc: array<vec4<f32>, ${(RM * RN) / 4}>;
  for (var k0 = 0u; k0 < params.columns; k0 += ${TK}u) {
    for (var step = 0u; step < ${loadsA}u; step++) {
      ${idleA}let slot = li + step * 256u;
      let r = slot / ${TK / 4}u;
      let k = (slot % ${TK / 4}u) * 4u;
      let column = k0 + k;
      var a = vec4<f32>(0.0);
      if (firstRow + r < params.inputRows && column < params.columns) { a = x4(firstRow + r, column); }
      for (var i = 0u; i < 4u; i++) { tileA[(k + i) * ${groupsA}u + r / 4u][r % 4u] = a[i]; }
    }
    for (var step = 0u; step < ${loadsW}u; step++) {
      ${idleW}let slot = li + step * 256u;
      let r = slot / ${TK / 4}u;
      let k = (slot % ${TK / 4}u) * 4u;
      let column = k0 + k;
      var w = vec4<f32>(0.0);
      if (firstOut + r < params.chunkRows && column < params.columns) {
        w = dequant4((firstOut + r) * params.rowBytes, column);
        ${guard}
      }
      for (var i = 0u; i < 4u; i++) { tileW[(k + i) * ${groupsW}u + r / 4u][r % 4u] = w[i]; }
    }
    workgroupBarrier();
    for (var k = 0u; k < ${TK}u; k++) {
${inner.join('\n')}
    }
    workgroupBarrier();
  }
${stores.join('\n')}
}
`;
}
