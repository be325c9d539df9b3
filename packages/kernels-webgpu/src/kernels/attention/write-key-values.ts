import { type KeyValueCache, StrataError, type Tensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, Uniforms, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';

const WORKGROUP = 256;

/**
 * Writes keys and values `[rows, width]` of positions `firstPosition + row` into cache rows `position mod capacity`.
 * When more rows arrive than the cache holds, only the last `capacity` rows are written (the earlier ones would be
 * overwritten anyway), so no two invocations write one row.
 */
export function writeKeyValues(
  runtime: GpuRuntime,
  cache: KeyValueCache,
  keys: Tensor,
  values: Tensor,
  firstPosition: number,
): void {
  const cacheKeys = runtime.tensor(cache.keys, 'f32', 'key cache');
  const cacheValues = runtime.tensor(cache.values, 'f32', 'value cache');
  const newKeys = runtime.tensor(keys, 'f32', 'keys');
  const newValues = runtime.tensor(values, 'f32', 'values');
  const [capacity = 0, width = 0] = cacheKeys.shape;
  const [rows = 0] = newKeys.shape;
  const same = (a: readonly number[], b: readonly number[]) =>
    a.length === b.length && a.every((size, i) => size === b[i]);
  if (
    cacheKeys.shape.length !== 2 ||
    !same(cacheKeys.shape, cacheValues.shape) ||
    !same(newKeys.shape, newValues.shape) ||
    newKeys.shape.length !== 2 ||
    newKeys.shape[1] !== width ||
    capacity === 0
  ) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `writeKeyValues: keys [${newKeys.shape.join(', ')}] and values [${newValues.shape.join(', ')}] do not fit the cache [${cacheKeys.shape.join(', ')}].`,
    );
  }
  const skipped = Math.max(0, rows - capacity);
  const count = (rows - skipped) * width;
  if (count === 0) return;
  runtime.dispatch({
    shader: {
      key: 'write-key-values',
      storage: ['read', 'read', 'write', 'write'],
      code: () => /* wgsl */ `
struct Params { count: u32, width: u32, capacity: u32, first_row: u32, first_position: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> keys: array<f32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> cache_keys: array<f32>;
@group(0) @binding(4) var<storage, read_write> cache_values: array<f32>;
${WGSL_LINEAR_GROUP}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
  let index = linear_group(group, groups) * ${WORKGROUP}u + li;
  if (index >= params.count) { return; }
  let row = params.first_row + index / params.width;
  let column = index % params.width;
  let slot = (params.first_position + row) % params.capacity;
  cache_keys[slot * params.width + column] = keys[row * params.width + column];
  cache_values[slot * params.width + column] = values[row * params.width + column];
}`,
    },
    uniforms: new Uniforms().u(count).u(width).u(capacity).u(skipped).u(firstPosition).words,
    buffers: [
      { tracked: newKeys.tracked },
      { tracked: newValues.tracked },
      { tracked: cacheKeys.tracked },
      { tracked: cacheValues.tracked },
    ],
    workgroups: linearGrid(Math.ceil(count / WORKGROUP)),
  });
}
