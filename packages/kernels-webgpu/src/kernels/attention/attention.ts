import { type AttentionOptions, type KeyValueCache, StrataError, type Tensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, Uniforms, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';

/** Tile sizes of one attention launch: query rows per workgroup, keys per tile, invocations. */
export interface AttentionTiling {
  readonly queryRows: number;
  readonly keyTile: number;
  readonly workgroupSize: number;
}

/**
 * Picks the tiling: decode (one query row) streams keys in tiles of 64 with one workgroup per head; prefill takes up
 * to 16 query rows per workgroup so each key/value tile loaded into shared memory serves all of them. Tiles shrink
 * until query tile, key/value tile and scores fit the device's workgroup storage.
 */
export function attentionTiling(rows: number, headDimensions: number, workgroupStorageBytes: number): AttentionTiling {
  let queryRows = 1;
  while (queryRows < 16 && queryRows < rows) queryRows *= 2;
  let keyTile = rows === 1 ? 64 : 32;
  const floats = () => queryRows * headDimensions + keyTile * headDimensions + queryRows * keyTile + 3 * queryRows;
  const budget = Math.floor(workgroupStorageBytes / 4);
  while (floats() > budget && keyTile > 8) keyTile /= 2;
  while (floats() > budget && queryRows > 1) queryRows /= 2;
  while (floats() > budget && keyTile > 1) keyTile /= 2;
  if (floats() > budget) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `attention: heads of ${headDimensions} dimensions do not fit the GPU's ${workgroupStorageBytes} bytes of workgroup memory.`,
    );
  }
  const workgroupSize = queryRows >= 8 ? 128 : 64;
  return { queryRows, keyTile, workgroupSize };
}

function attentionShader(headDimensions: number, tiling: AttentionTiling, softcap: boolean): string {
  const { queryRows: BR, keyTile: BC, workgroupSize: WG } = tiling;
  const HD = headDimensions;
  const accumulators = Math.ceil((BR * HD) / WG);
  return /* wgsl */ `
struct Params {
  rows: u32, heads: u32, key_value_heads: u32, first_position: u32, capacity: u32,
  window: u32, first_key: u32, scale: f32, softcap: f32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> queries: array<f32>;
@group(0) @binding(2) var<storage, read> keys: array<f32>;
@group(0) @binding(3) var<storage, read> values: array<f32>;
@group(0) @binding(4) var<storage, read_write> destination: array<f32>;
const HD = ${HD}u;
const BR = ${BR}u;
const BC = ${BC}u;
const WG = ${WG}u;
const MASKED = -3.0e38;
var<workgroup> query_tile: array<f32, ${BR * HD}>;
var<workgroup> key_value_tile: array<f32, ${BC * HD}>;
var<workgroup> scores: array<f32, ${BR * BC}>;
var<workgroup> row_max: array<f32, ${BR}>;
var<workgroup> row_sum: array<f32, ${BR}>;
var<workgroup> row_alpha: array<f32, ${BR}>;
${WGSL_LINEAR_GROUP}

fn load_keys(first_key: u32, last_key: u32, head_offset: u32, li: u32) {
  let width = params.key_value_heads * HD;
  for (var index = li; index < BC * HD; index += WG) {
    let key = first_key + index / HD;
    var value = 0.0;
    if (key <= last_key) { value = keys[(key % params.capacity) * width + head_offset + index % HD]; }
    key_value_tile[index] = value;
  }
}
fn load_values(first_key: u32, last_key: u32, head_offset: u32, li: u32) {
  let width = params.key_value_heads * HD;
  for (var index = li; index < BC * HD; index += WG) {
    let key = first_key + index / HD;
    var value = 0.0;
    if (key <= last_key) { value = values[(key % params.capacity) * width + head_offset + index % HD]; }
    key_value_tile[index] = value;
  }
}

@compute @workgroup_size(${WG})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
  let linear = linear_group(group, groups);
  let head = linear % params.heads;
  let first_row = (linear / params.heads) * BR;
  if (first_row >= params.rows) { return; }
  let key_value_head = head / (params.heads / params.key_value_heads);
  let head_offset = key_value_head * HD;
  let query_width = params.heads * HD;
  let row_count = min(BR, params.rows - first_row);
  // Positions this workgroup's queries see: up to its last query; from the window start of its first query.
  let first_query = params.first_position + first_row;
  let last_key = first_query + row_count - 1u;
  var first_key = params.first_key;
  if (params.window > 0u && first_query + 1u > params.window) { first_key = max(first_key, first_query + 1u - params.window); }

  for (var index = li; index < BR * HD; index += WG) {
    let row = index / HD;
    var value = 0.0;
    if (row < row_count) { value = queries[(first_row + row) * query_width + head * HD + index % HD] * params.scale; }
    query_tile[index] = value;
  }
  for (var row = li; row < BR; row += WG) { row_max[row] = MASKED; row_sum[row] = 0.0; }
  var accumulator: array<f32, ${accumulators}>;
  for (var slot = 0u; slot < ${accumulators}u; slot++) { accumulator[slot] = 0.0; }

  for (var tile_start = first_key; tile_start <= last_key; tile_start += BC) {
    workgroupBarrier();
    load_keys(tile_start, last_key, head_offset, li);
    workgroupBarrier();
    for (var index = li; index < BR * BC; index += WG) {
      let row = index / BC;
      let column = index % BC;
      let query_position = first_query + row;
      let key = tile_start + column;
      var score = MASKED;
      let visible = row < row_count && key <= query_position && (params.window == 0u || key + params.window > query_position);
      if (visible) {
        var dot = 0.0;
        for (var d = 0u; d < HD; d++) { dot += query_tile[row * HD + d] * key_value_tile[column * HD + d]; }
        ${softcap ? 'dot = params.softcap * tanh(clamp(dot / params.softcap, -15.0, 15.0));' : ''}
        score = dot;
      }
      scores[index] = score;
    }
    workgroupBarrier();
    for (var row = li; row < BR; row += WG) {
      let previous = row_max[row];
      var best = previous;
      for (var column = 0u; column < BC; column++) { best = max(best, scores[row * BC + column]); }
      var alpha = 1.0;
      if (previous > -1.0e38) { alpha = exp(previous - best); }
      var total = 0.0;
      for (var column = 0u; column < BC; column++) {
        let score = scores[row * BC + column];
        var weight = 0.0;
        if (score > -1.0e38) { weight = exp(score - best); }
        scores[row * BC + column] = weight;
        total += weight;
      }
      row_max[row] = best;
      row_sum[row] = row_sum[row] * alpha + total;
      row_alpha[row] = alpha;
    }
    workgroupBarrier();
    load_values(tile_start, last_key, head_offset, li);
    workgroupBarrier();
    for (var slot = 0u; slot < ${accumulators}u; slot++) {
      let index = li + slot * WG;
      if (index < BR * HD) {
        let row = index / HD;
        let d = index % HD;
        var sum = accumulator[slot] * row_alpha[row];
        for (var column = 0u; column < BC; column++) { sum += scores[row * BC + column] * key_value_tile[column * HD + d]; }
        accumulator[slot] = sum;
      }
    }
  }
  workgroupBarrier();
  for (var slot = 0u; slot < ${accumulators}u; slot++) {
    let index = li + slot * WG;
    let row = index / HD;
    if (index < BR * HD && row < row_count) {
      let total = row_sum[row];
      destination[(first_row + row) * query_width + head * HD + index % HD] = select(0.0, accumulator[slot] / total, total > 0.0);
    }
  }
}`;
}

/**
 * Causal attention of `queries` `[rows, heads · headDimensions]` over the cache, which already holds these rows' keys
 * and values (ring rows `position mod capacity`). One pass over the keys with an online softmax (flash attention):
 * decode streams key tiles per head; prefill shares each key/value tile among up to 16 query rows.
 */
export function attention(
  runtime: GpuRuntime,
  queries: Tensor,
  cache: KeyValueCache,
  options: AttentionOptions,
): GpuTensor {
  const query = runtime.tensor(queries, 'f32', 'queries');
  const keys = runtime.tensor(cache.keys, 'f32', 'key cache');
  const values = runtime.tensor(cache.values, 'f32', 'value cache');
  const { heads, keyValueHeads, headDimensions, firstPosition } = options;
  const [rows = 0, columns = 0] = query.shape;
  const [capacity = 0, cacheWidth = 0] = keys.shape;
  if (
    query.shape.length !== 2 ||
    columns !== heads * headDimensions ||
    keyValueHeads <= 0 ||
    heads % keyValueHeads !== 0 ||
    keys.shape.length !== 2 ||
    cacheWidth !== keyValueHeads * headDimensions ||
    values.shape[0] !== capacity ||
    values.shape[1] !== cacheWidth ||
    capacity === 0
  ) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `attention: queries [${query.shape.join(', ')}] with ${heads} heads of ${headDimensions} and ${keyValueHeads} key/value heads do not fit the cache [${keys.shape.join(', ')}].`,
    );
  }
  const output = runtime.allocate('f32', query.shape);
  if (rows === 0) return output;
  const tiling = attentionTiling(rows, headDimensions, runtime.limits.maxComputeWorkgroupStorageSize);
  const softcap = options.softcap !== undefined && options.softcap > 0;
  const lastPosition = firstPosition + rows - 1;
  const firstKey = Math.max(0, lastPosition - capacity + 1);
  const blocks = Math.ceil(rows / tiling.queryRows);
  runtime.dispatch({
    shader: {
      key: `attention:hd=${headDimensions}:br=${tiling.queryRows}:bc=${tiling.keyTile}:wg=${tiling.workgroupSize}:cap=${softcap ? 1 : 0}`,
      storage: ['read', 'read', 'read', 'write'],
      code: () => attentionShader(headDimensions, tiling, softcap),
    },
    uniforms: new Uniforms()
      .u(rows)
      .u(heads)
      .u(keyValueHeads)
      .u(firstPosition)
      .u(capacity)
      .u(options.window ?? 0)
      .u(firstKey)
      .f(options.scale)
      .f(softcap ? options.softcap! : 0).words,
    buffers: [
      { tracked: query.tracked },
      { tracked: keys.tracked },
      { tracked: values.tracked },
      { tracked: output.tracked },
    ],
    workgroups: linearGrid(blocks * heads),
  });
  return output;
}
