import { type KeyValueCache, type RopeParameters, StrataError, type Tensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, Uniforms, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { ropeHeads, ropeRotationWgsl, WGSL_ROPE_SINCOS } from './rope.js';
import { q8WritePairWgsl, WGSL_Q8_WRITE } from './q8-cache-wgsl.js';
import {
  type CacheAddressing,
  type CacheWrite,
  cacheSlotWgsl,
  checkCacheWrite,
  columnsPerInvocation,
  WGSL_PACK_HALVES,
  WGSL_ROUND_TO_HALF,
} from './write-key-values.js';

const WORKGROUP = 256;

/**
 * `rope(queries)` returned, `rope(keys)` and `values` written into the cache at ring rows `position mod capacity`: one
 * dispatch with one invocation per query element and per key/value element pair. Same arithmetic as `rope` and
 * `writeKeyValues` (so the same numbers), rows past the cache's capacity skipped as `writeKeyValues` does.
 */
export function ropeAndWriteKeyValues(
  runtime: GpuRuntime,
  queries: Tensor,
  keys: Tensor,
  values: Tensor,
  cache: KeyValueCache,
  firstPosition: number,
  parameters: RopeParameters,
): GpuTensor {
  const write = checkCacheWrite(runtime, cache, keys, values);
  return dispatchRopeAndWrite(runtime, queries, write, parameters, { kind: 'ring', firstPosition });
}

/**
 * Records the fused kernel for a checked cache write under `addressing`: RoPE at each row's position (ring: consecutive
 * from `firstPosition`; paged: column 0 of the batch's `positionsAndSlots`), a paged write never skipping rows.
 */
export function dispatchRopeAndWrite(
  runtime: GpuRuntime,
  queries: Tensor,
  write: CacheWrite,
  parameters: RopeParameters,
  addressing: CacheAddressing,
): GpuTensor {
  const query = runtime.tensor(queries, 'f32', 'queries');
  ropeHeads(query, parameters);
  ropeHeads(write.keys, parameters);
  const rows = query.shape[0] ?? 0;
  if (write.rows !== rows) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `ropeAndWriteKeyValues: ${rows} query rows but ${write.rows} key rows; one step's rows must match.`,
    );
  }
  const output = runtime.allocate('f32', query.shape);
  const queryColumns = query.shape[1] ?? 0;
  const queryCount = rows * queryColumns;
  const storage = write.storage;
  // f16 storage: one invocation per pair of key/value columns (two halves share a word); q8_0: per pair of blocks.
  const perInvocation = columnsPerInvocation(storage);
  const paged = addressing.kind === 'paged';
  const skipped = paged ? 0 : write.skipped;
  const firstPosition = paged ? 0 : addressing.firstPosition;
  const keyCount = (rows - skipped) * Math.ceil(write.width / perInvocation);
  if (queryCount + keyCount === 0) return output;
  const adjacent = parameters.pairing === 'adjacent';
  const uniformsAt = (position: number) =>
    new Uniforms()
      .u(queryCount)
      .u(keyCount)
      .u(queryColumns)
      .u(write.width)
      .u(parameters.headDimensions)
      .u(parameters.rotaryDimensions)
      .u(position)
      .f(parameters.attentionFactor)
      .u(0)
      .u(write.capacity)
      .u(skipped).words;
  const q8Expressions = { column: 'column', slot: 'slot', width: 'params.width', capacity: 'params.capacity' };
  const store = (name: string) => (storage === 'rounded' ? `round_to_half(${name})` : name);
  const cacheArray = storage === 'f16' || storage === 'q8_0' ? 'u32' : 'f32';
  runtime.dispatch({
    shader: {
      key: `rope-and-write:${parameters.pairing}:${storage}:${addressing.kind}`,
      storage: ['read', 'read', 'read', 'read', 'write', 'write', 'write', ...(paged ? (['read'] as const) : [])],
      code: () => /* wgsl */ `
struct Params {
  query_count: u32, key_count: u32, query_columns: u32, width: u32, head_dimensions: u32, rotary_dimensions: u32,
  first_position: u32, factor: f32, zero: u32, capacity: u32, skipped: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> queries: array<f32>;
@group(0) @binding(2) var<storage, read> keys: array<f32>;
@group(0) @binding(3) var<storage, read> values: array<f32>;
@group(0) @binding(4) var<storage, read> frequencies: array<f32>;
@group(0) @binding(5) var<storage, read_write> destination: array<f32>;
@group(0) @binding(6) var<storage, read_write> cache_keys: array<${cacheArray}>;
@group(0) @binding(7) var<storage, read_write> cache_values: array<${cacheArray}>;
${paged ? '@group(0) @binding(8) var<storage, read> positions_and_slots: array<i32>;' : ''}
${WGSL_LINEAR_GROUP}
${WGSL_ROPE_SINCOS}
${storage === 'f32' ? '' : WGSL_ROUND_TO_HALF}
${storage === 'f16' || storage === 'q8_0' ? WGSL_PACK_HALVES : ''}
${storage === 'q8_0' ? WGSL_Q8_WRITE : ''}
// Element \`index\` of a row-major [rows, columns] tensor rotated at its row's position, given its partner.
fn rotate(x: f32, index: u32, columns: u32, is_query: bool) -> f32 {
  let row = index / columns;
  let dimension = (index - row * columns) % params.head_dimensions;
  if (dimension >= params.rotary_dimensions) { return x; }
  ${ropeRotationWgsl(adjacent, paged ? 'positions_and_slots[2u * row]' : undefined)}
  var y: f32;
  if (is_query) { y = queries[partner]; } else { y = keys[partner]; }
  return select(x * cs.x - y * cs.y, x * cs.x + y * cs.y, second);
}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
  let index = linear_group(group, groups) * ${WORKGROUP}u + li;
  if (index < params.query_count) {
    destination[index] = rotate(queries[index], index, params.query_columns, true);
    return;
  }
  let element = index - params.query_count;
  if (element >= params.key_count) { return; }
  let per_row = (params.width + ${perInvocation - 1}u) / ${perInvocation}u;
  let row = params.skipped + element / per_row;
  let column = (element % per_row) * ${perInvocation}u;
  let source = row * params.width + column;
${
  storage === 'q8_0'
    ? `  let slot = ${cacheSlotWgsl(addressing.kind)};
${q8WritePairWgsl('cache_keys', (offset) => `rotate(keys[source + ${offset}], source + ${offset}, params.width, false)`, q8Expressions)}
${q8WritePairWgsl('cache_values', (offset) => `values[source + ${offset}]`, q8Expressions)}`
    : storage === 'f16'
      ? `  let slot = ${cacheSlotWgsl(addressing.kind)} * (params.width / 2u) + column / 2u;
  let key0 = rotate(keys[source], source, params.width, false);
  let key1 = rotate(keys[source + 1u], source + 1u, params.width, false);
  cache_keys[slot] = pack_halves(key0, key1);
  cache_values[slot] = pack_halves(values[source], values[source + 1u]);`
      : `  let slot = ${cacheSlotWgsl(addressing.kind)} * params.width + column;
  cache_keys[slot] = ${store('rotate(keys[source], source, params.width, false)')};
  cache_values[slot] = ${store('values[source]')};`
}
}`,
    },
    uniforms: uniformsAt(firstPosition),
    ...(paged ? {} : { position: { firstPosition, uniforms: uniformsAt } }),
    buffers: [
      { tracked: query.tracked },
      { tracked: write.keys.tracked },
      { tracked: write.values.tracked },
      { tracked: runtime.constant(parameters.inverseFrequencies) },
      { tracked: output.tracked },
      { tracked: write.cacheKeys.tracked },
      { tracked: write.cacheValues.tracked },
      ...(paged ? [{ tracked: addressing.positionsAndSlots.tracked }] : []),
    ],
    workgroups: linearGrid(Math.ceil((queryCount + keyCount) / WORKGROUP)),
  });
  return output;
}
