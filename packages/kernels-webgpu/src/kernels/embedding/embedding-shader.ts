import type { WeightType } from '@strata/core';
import { rowsWordAligned, weightReaderWgsl } from '../../wgsl/dequantize/index.js';

/** Invocations per workgroup of the gather. */
export const EMBEDDING_WORKGROUP_SIZE = 64;

/** Storage bindings (from binding 1): table chunk, ids, output. */
export const EMBEDDING_STORAGE = ['read', 'read', 'write'] as const;

/** The cache key of a gather kernel. */
export function embeddingKey(type: WeightType, width: number): string {
  return `embedding:${type}:${width % 4 === 0 ? 'v4' : 'ragged'}:${rowsWordAligned(type, width) ? 'a' : 'u'}`;
}

/** Uniform words: `width, rowBytes, count, chunkFirst, chunkRows, vocabulary, scale` (scale as f32 bits). */
export function embeddingUniforms(
  width: number,
  rowBytes: number,
  count: number,
  chunkFirst: number,
  chunkRows: number,
  vocabulary: number,
  scale: number,
): Uint32Array {
  const words = new Uint32Array([width, rowBytes, count, chunkFirst, chunkRows, vocabulary, 0]);
  new Float32Array(words.buffer)[6] = scale;
  return words;
}

/**
 * WGSL of the embedding gather: one invocation per 4 values of an output row, reading table row `ids[row]` through
 * `dequant4` when that row lies in the bound chunk. Ids outside the vocabulary give a zero row (written by the dispatch
 * of the first chunk). Grid: `ceil(count · ceil(width / 4) / 64)` groups, linear over x and y.
 */
export function embeddingWgsl(type: WeightType, width: number): string {
  const guard =
    width % 4 === 0
      ? ''
      : 'values = select(vec4<f32>(0.0), values, (vec4<u32>(column) + vec4<u32>(0u, 1u, 2u, 3u)) < vec4<u32>(params.width));';
  return /* wgsl */ `
struct Params { width: u32, rowBytes: u32, count: u32, chunkFirst: u32, chunkRows: u32, vocabulary: u32, scale: f32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> weights: array<u32>;
@group(0) @binding(2) var<storage, read> ids: array<i32>;
@group(0) @binding(3) var<storage, read_write> output: array<f32>;
${weightReaderWgsl(type, width)}
@compute @workgroup_size(${EMBEDDING_WORKGROUP_SIZE})
fn main(@builtin(global_invocation_id) id: vec3u, @builtin(num_workgroups) groups: vec3u) {
  let perRow = (params.width + 3u) / 4u;
  let index = id.x + id.y * groups.x * ${EMBEDDING_WORKGROUP_SIZE}u;
  let row = index / perRow;
  if (row >= params.count) { return; }
  let column = (index % perRow) * 4u;
  let token = ids[row];
  var values = vec4<f32>(0.0);
  if (token < 0 || u32(token) >= params.vocabulary) {
    if (params.chunkFirst != 0u) { return; }
  } else {
    let local = u32(token) - params.chunkFirst;
    if (u32(token) < params.chunkFirst || local >= params.chunkRows) { return; }
    values = dequant4(local * params.rowBytes, column) * params.scale;
    ${guard}
  }
  for (var i = 0u; i < 4u; i++) {
    if (column + i < params.width) { output[row * params.width + column + i] = values[i]; }
  }
}
`;
}
