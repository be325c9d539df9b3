import type { WeightType } from '@strata/core';
import { rowsWordAligned, weightReaderWgsl } from '../../wgsl/dequantize/index.js';

/** Input rows per tile of the tiled mat-mul. */
export const TILE_ROWS = 64;
/** Output columns (weight rows) per tile. */
export const TILE_OUT = 64;
/** Columns per step: one step dequantizes a `[TILE_OUT, TILE_DEPTH]` weight tile into workgroup memory. */
export const TILE_DEPTH = 32;

/** What a tiled mat-mul kernel is specialised for. */
export interface TiledVariant {
  /** Weight type as stored on the GPU (`GpuWeight.storedType`); selects the dequantizer compiled in. */
  readonly type: WeightType;
  /** Columns (decides whether input rows are vec4-aligned and weight rows word-aligned). */
  readonly columns: number;
  /** Adds an f32 `bias` `[out]` to every output row. */
  readonly bias: boolean;
}

/** Storage bindings (from binding 1): weights, input, bias, output. */
export const TILED_STORAGE = ['read', 'read', 'read', 'write'] as const;

/** The cache key of a variant. */
export function tiledKey(variant: TiledVariant): string {
  const { type, columns, bias } = variant;
  return `matmul-tiled:${type}:${columns % 4 === 0 ? 'v4' : 'ragged'}:${rowsWordAligned(type, columns) ? 'a' : 'u'}:b=${bias ? 1 : 0}`;
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
 * WGSL of the prefill mat-mul: a 256-invocation workgroup computes a 64 × 64 output tile (4 × 4 per invocation). Each
 * step stages 32 columns of 64 input rows and dequantizes 32 columns of 64 weight rows into workgroup memory (k-major,
 * so the inner loop reads one vec4 of rows and one of outputs per k), which every input row of the tile then reuses.
 * Grid: x = `ceil(chunkRows / 64)`, y = `ceil(inputRows / 64)`.
 */
export function tiledWgsl(variant: TiledVariant): string {
  const { type, columns, bias } = variant;
  const vector = columns % 4 === 0;
  const quarter = TILE_ROWS / 4; // vec4 slots per k of a tile
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
  return /* wgsl */ `
struct Params { columns: u32, rowBytes: u32, inputRows: u32, chunkRows: u32, firstRow: u32, outStride: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> weights: array<u32>;
@group(0) @binding(2) ${inputRead}
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;
${weightReaderWgsl(type, columns)}
// tileA[k * ${quarter} + r / 4][r % 4]: input row r, column k of the step; tileW likewise for weight rows.
var<workgroup> tileA: array<vec4<f32>, ${TILE_DEPTH * quarter}>;
var<workgroup> tileW: array<vec4<f32>, ${TILE_DEPTH * (TILE_OUT / 4)}>;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) group: vec3u, @builtin(local_invocation_index) li: u32) {
  let tx = li % 16u;
  let ty = li / 16u;
  let firstOut = group.x * ${TILE_OUT}u;
  let firstRow = group.y * ${TILE_ROWS}u;
  var acc: array<vec4<f32>, 4>;
  for (var k0 = 0u; k0 < params.columns; k0 += ${TILE_DEPTH}u) {
    for (var step = 0u; step < 2u; step++) {
      let slot = li + step * 256u;
      let r = slot / ${TILE_DEPTH / 4}u;
      let k = (slot % ${TILE_DEPTH / 4}u) * 4u;
      let column = k0 + k;
      var a = vec4<f32>(0.0);
      if (firstRow + r < params.inputRows && column < params.columns) { a = x4(firstRow + r, column); }
      var w = vec4<f32>(0.0);
      if (firstOut + r < params.chunkRows && column < params.columns) {
        w = dequant4((firstOut + r) * params.rowBytes, column);
        ${guard}
      }
      for (var i = 0u; i < 4u; i++) {
        tileA[(k + i) * ${quarter}u + r / 4u][r % 4u] = a[i];
        tileW[(k + i) * ${TILE_OUT / 4}u + r / 4u][r % 4u] = w[i];
      }
    }
    workgroupBarrier();
    for (var k = 0u; k < ${TILE_DEPTH}u; k++) {
      let a = tileA[k * ${quarter}u + ty];
      let w = tileW[k * ${TILE_OUT / 4}u + tx];
      acc[0] += a.x * w;
      acc[1] += a.y * w;
      acc[2] += a.z * w;
      acc[3] += a.w * w;
    }
    workgroupBarrier();
  }
  for (var i = 0u; i < 4u; i++) {
    let row = firstRow + ty * 4u + i;
    if (row >= params.inputRows) { break; }
    for (var j = 0u; j < 4u; j++) {
      let o = firstOut + tx * 4u + j;
      if (o < params.chunkRows) {
        output[row * params.outStride + params.firstRow + o] = acc[i][j]${bias ? ' + bias[params.firstRow + o]' : ''};
      }
    }
  }
}
`;
}
