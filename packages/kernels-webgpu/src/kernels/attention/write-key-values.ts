import { type KeyValueCache, StrataError, type Tensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, Uniforms, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';

const WORKGROUP = 256;

/**
 * WGSL: `fn round_to_half(v: f32) -> f32` — v rounded to the nearest f16 value, ties to even; ±infinity where the
 * rounded magnitude exceeds 65504; NaN stays NaN. Written with integer operations because WGSL leaves the rounding of
 * `pack2x16float` to the implementation (either neighbour) and its result out of the f16 range indeterminate.
 * Subnormal halves (|v| < 2^-14) are multiples of 2^-24: `round` (ties to even) of v · 2^24, scaled back exactly.
 */
export const WGSL_ROUND_TO_HALF = /* wgsl */ `
fn round_to_half(v: f32) -> f32 {
  let bits = bitcast<u32>(v);
  let sign = bits & 0x80000000u;
  let magnitude = bits & 0x7fffffffu;
  if (magnitude >= 0x7f800000u) { return v; }
  if (magnitude < 0x38800000u) { return round(v * 16777216.0) * 5.9604644775390625e-8; }
  let rounded = (magnitude + 0x0fffu + ((magnitude >> 13u) & 1u)) & 0xffffe000u;
  if (rounded > 0x477fe000u) { return bitcast<f32>(sign | 0x7f800000u); }
  return bitcast<f32>(sign | rounded);
}
`;

/** The checked operands of a cache write (see {@link checkCacheWrite}). */
export interface CacheWrite {
  /** Keys `[rows, width]` to write. */
  readonly keys: GpuTensor;
  /** Values, same shape. */
  readonly values: GpuTensor;
  /** The cache's keys `[capacity, width]`. */
  readonly cacheKeys: GpuTensor;
  /** The cache's values. */
  readonly cacheValues: GpuTensor;
  /** Cache rows. */
  readonly capacity: number;
  /** keyValueHeads · headDimensions. */
  readonly width: number;
  /** Rows written by the step. */
  readonly rows: number;
  /** Leading rows not written because later rows of the same step overwrite their ring rows. */
  readonly skipped: number;
  /** The cache's numerics. */
  readonly precision: 'f32' | 'f16';
}

/** Checks the operands of a cache write (types, shapes, precision) for `writeKeyValues` and the fused RoPE write. */
export function checkCacheWrite(runtime: GpuRuntime, cache: KeyValueCache, keys: Tensor, values: Tensor): CacheWrite {
  const precision = cache.precision ?? 'f32';
  if (precision !== 'f32' && precision !== 'f16') {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `writeKeyValues: cache precision must be 'f32' or 'f16', got ${String(precision)}.`,
    );
  }
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
  return { keys: newKeys, values: newValues, cacheKeys, cacheValues, capacity, width, rows, skipped, precision };
}

/**
 * Writes keys and values `[rows, width]` of positions `firstPosition + row` into cache rows `position mod capacity`.
 * When more rows arrive than the cache holds, only the last `capacity` rows are written (the earlier ones would be
 * overwritten anyway), so no two invocations write one row. An `'f16'` cache gets every value rounded to half precision.
 */
export function writeKeyValues(
  runtime: GpuRuntime,
  cache: KeyValueCache,
  keys: Tensor,
  values: Tensor,
  firstPosition: number,
): void {
  const write = checkCacheWrite(runtime, cache, keys, values);
  const { capacity, width, skipped, precision } = write;
  const { keys: newKeys, values: newValues, cacheKeys, cacheValues } = write;
  const half = precision === 'f16';
  const count = (write.rows - skipped) * width;
  if (count === 0) return;
  const uniformsAt = (position: number) => new Uniforms().u(count).u(width).u(capacity).u(skipped).u(position).words;
  runtime.dispatch({
    shader: {
      key: `write-key-values:${precision}`,
      storage: ['read', 'read', 'write', 'write'],
      code: () => /* wgsl */ `
struct Params { count: u32, width: u32, capacity: u32, first_row: u32, first_position: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> keys: array<f32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> cache_keys: array<f32>;
@group(0) @binding(4) var<storage, read_write> cache_values: array<f32>;
${WGSL_LINEAR_GROUP}
${half ? WGSL_ROUND_TO_HALF : ''}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
  let index = linear_group(group, groups) * ${WORKGROUP}u + li;
  if (index >= params.count) { return; }
  let row = params.first_row + index / params.width;
  let column = index % params.width;
  let slot = (params.first_position + row) % params.capacity;
  cache_keys[slot * params.width + column] = ${half ? 'round_to_half(keys[row * params.width + column])' : 'keys[row * params.width + column]'};
  cache_values[slot * params.width + column] = ${half ? 'round_to_half(values[row * params.width + column])' : 'values[row * params.width + column]'};
}`,
    },
    uniforms: uniformsAt(firstPosition),
    position: {
      firstPosition,
      uniforms: uniformsAt,
    },
    buffers: [
      { tracked: newKeys.tracked },
      { tracked: newValues.tracked },
      { tracked: cacheKeys.tracked },
      { tracked: cacheValues.tracked },
    ],
    workgroups: linearGrid(Math.ceil(count / WORKGROUP)),
  });
}
