import { type KeyValueCache, type KeyValuePrecision, Q8_0_BLOCK_SIZE, StrataError, type Tensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, Uniforms, WGSL_LINEAR_GROUP } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import { q8WritePairWgsl, WGSL_Q8_WRITE } from './q8-cache-wgsl.js';

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

/**
 * WGSL: `fn pack_halves(a: f32, b: f32) -> u32` — a and b rounded to half precision (as {@link WGSL_ROUND_TO_HALF}) and
 * packed low/high into one word, the bits built with integer operations (exact for normal and subnormal halves and
 * infinities, unlike `pack2x16float`, whose rounding and range WGSL leaves to the implementation). Needs
 * `WGSL_ROUND_TO_HALF` beside it.
 */
export const WGSL_PACK_HALVES = /* wgsl */ `
fn half_bits(v: f32) -> u32 {
  let bits = bitcast<u32>(v);
  let sign = (bits >> 16u) & 0x8000u;
  let magnitude = bits & 0x7fffffffu;
  if (magnitude > 0x7f800000u) { return sign | 0x7e00u; }
  if (magnitude >= 0x7f800000u) { return sign | 0x7c00u; }
  if (magnitude < 0x38800000u) { return sign | u32(abs(v) * 16777216.0); }
  return sign | ((magnitude - 0x38000000u) >> 13u);
}
fn pack_halves(a: f32, b: f32) -> u32 {
  return half_bits(round_to_half(a)) | (half_bits(round_to_half(b)) << 16u);
}
`;

/**
 * How a cache stores what is written: `f32` exactly, `rounded` (f32 storage, values rounded to half precision), `f16`
 * (halves, two per word; written a pair of columns per invocation) or `q8_0` (blocks of 32 int8 quants and an f16
 * scale, see `storageBytes` in core; written a pair of blocks per invocation).
 */
export type CacheStorage = 'f32' | 'rounded' | 'f16' | 'q8_0';

/** Columns one invocation of a cache write handles: 1, 2 (a word of halves) or 64 (a pair of q8_0 blocks). */
export function columnsPerInvocation(storage: CacheStorage): number {
  if (storage === 'q8_0') return 2 * Q8_0_BLOCK_SIZE;
  return storage === 'f16' ? 2 : 1;
}

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
  readonly precision: KeyValuePrecision;
  /** How the cache tensors hold it (f16 tensors: halves). */
  readonly storage: CacheStorage;
}

/** Checks the operands of a cache write (types, shapes, precision) for `writeKeyValues` and the fused RoPE write. */
export function checkCacheWrite(runtime: GpuRuntime, cache: KeyValueCache, keys: Tensor, values: Tensor): CacheWrite {
  const precision = cache.precision ?? 'f32';
  if (precision !== 'f32' && precision !== 'f16' && precision !== 'q8_0') {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `writeKeyValues: cache precision must be 'f32', 'f16' or 'q8_0', got ${String(precision)}.`,
    );
  }
  const cacheKeys = runtime.tensor(cache.keys, undefined, 'key cache');
  const cacheValues = runtime.tensor(cache.values, cacheKeys.dtype, 'value cache');
  const half = cacheKeys.dtype === 'f16';
  const quantized = cacheKeys.dtype === 'q8_0';
  if (
    (!half && !quantized && cacheKeys.dtype !== 'f32') ||
    (half && precision !== 'f16') ||
    quantized !== (precision === 'q8_0')
  ) {
    throw new StrataError(
      'DTYPE_MISMATCH',
      `A KV cache holds f32, f16 (precision 'f16') or q8_0 (precision 'q8_0') tensors; got ${cacheKeys.dtype} with precision ${precision}: make it with createKeyValueCache.`,
    );
  }
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
    capacity === 0 ||
    (half && width % 2 !== 0) ||
    (quantized && width % Q8_0_BLOCK_SIZE !== 0)
  ) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `writeKeyValues: keys [${newKeys.shape.join(', ')}] and values [${newValues.shape.join(', ')}] do not fit the cache [${cacheKeys.shape.join(', ')}].`,
    );
  }
  const skipped = Math.max(0, rows - capacity);
  const storage: CacheStorage = quantized ? 'q8_0' : half ? 'f16' : precision === 'f16' ? 'rounded' : 'f32';
  return {
    keys: newKeys,
    values: newValues,
    cacheKeys,
    cacheValues,
    capacity,
    width,
    rows,
    skipped,
    precision,
    storage,
  };
}

/**
 * Where a cache write puts row r: ring row `(firstPosition + r) mod capacity` of a contiguous cache, or the storage
 * row a paged batch gives it (column 1 of its `positionsAndSlots`).
 */
export type CacheAddressing =
  | { readonly kind: 'ring'; readonly firstPosition: number }
  | { readonly kind: 'paged'; readonly positionsAndSlots: GpuTensor };

/** WGSL: the storage row of row `row` under `addressing` (ring: `params.first_position`, `params.capacity`). */
export function cacheSlotWgsl(addressing: CacheAddressing['kind']): string {
  return addressing === 'ring'
    ? '(params.first_position + row) % params.capacity'
    : 'u32(positions_and_slots[2u * row + 1u])';
}

/**
 * Writes keys and values `[rows, width]` of positions `firstPosition + row` into cache rows `position mod capacity`.
 * When more rows arrive than the cache holds, only the last `capacity` rows are written (the earlier ones would be
 * overwritten anyway), so no two invocations write one row. An `'f16'` cache gets every value rounded to half
 * precision; a `'q8_0'` cache gets each block of 32 values quantized (one invocation per pair of blocks of a row).
 */
export function writeKeyValues(
  runtime: GpuRuntime,
  cache: KeyValueCache,
  keys: Tensor,
  values: Tensor,
  firstPosition: number,
): void {
  dispatchCacheWrite(runtime, checkCacheWrite(runtime, cache, keys, values), { kind: 'ring', firstPosition });
}

/** Records the kernel of a checked cache write under `addressing` (a paged write never skips rows). */
export function dispatchCacheWrite(runtime: GpuRuntime, write: CacheWrite, addressing: CacheAddressing): void {
  const { capacity, width, storage } = write;
  const skipped = addressing.kind === 'ring' ? write.skipped : 0;
  const { keys: newKeys, values: newValues, cacheKeys, cacheValues } = write;
  // f16 storage: one invocation per pair of columns (two halves share a word); q8_0: per pair of blocks.
  const perInvocation = columnsPerInvocation(storage);
  const count = (write.rows - skipped) * Math.ceil(width / perInvocation);
  if (count === 0) return;
  const firstPosition = addressing.kind === 'ring' ? addressing.firstPosition : 0;
  const paged = addressing.kind === 'paged';
  const uniformsAt = (position: number) => new Uniforms().u(count).u(width).u(capacity).u(skipped).u(position).words;
  const rounded = (name: string) => (storage === 'rounded' ? `round_to_half(${name})` : name);
  runtime.dispatch({
    shader: {
      key: `write-key-values:${storage}:${addressing.kind}`,
      storage: paged ? ['read', 'read', 'write', 'write', 'read'] : ['read', 'read', 'write', 'write'],
      code: () => /* wgsl */ `
struct Params { count: u32, width: u32, capacity: u32, first_row: u32, first_position: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> keys: array<f32>;
@group(0) @binding(2) var<storage, read> values: array<f32>;
@group(0) @binding(3) var<storage, read_write> cache_keys: array<${storage === 'f16' || storage === 'q8_0' ? 'u32' : 'f32'}>;
@group(0) @binding(4) var<storage, read_write> cache_values: array<${storage === 'f16' || storage === 'q8_0' ? 'u32' : 'f32'}>;
${paged ? '@group(0) @binding(5) var<storage, read> positions_and_slots: array<i32>;' : ''}
${WGSL_LINEAR_GROUP}
${storage === 'f32' ? '' : WGSL_ROUND_TO_HALF}
${storage === 'f16' || storage === 'q8_0' ? WGSL_PACK_HALVES : ''}
${storage === 'q8_0' ? WGSL_Q8_WRITE : ''}
@compute @workgroup_size(${WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u, @builtin(local_invocation_index) li: u32) {
  let index = linear_group(group, groups) * ${WORKGROUP}u + li;
  if (index >= params.count) { return; }
  let per_row = (params.width + ${perInvocation - 1}u) / ${perInvocation}u;
  let row = params.first_row + index / per_row;
  let column = (index % per_row) * ${perInvocation}u;
  let slot = ${cacheSlotWgsl(addressing.kind)};
  let source = row * params.width + column;
${
  storage === 'q8_0'
    ? ['keys', 'values']
        .map((name) =>
          q8WritePairWgsl(`cache_${name}`, (offset) => `${name}[source + ${offset}]`, {
            column: 'column',
            slot: 'slot',
            width: 'params.width',
            capacity: 'params.capacity',
          }),
        )
        .join('\n')
    : storage === 'f16'
      ? `  cache_keys[slot * per_row + column / 2u] = pack_halves(keys[source], keys[source + 1u]);
  cache_values[slot * per_row + column / 2u] = pack_halves(values[source], values[source + 1u]);`
      : `  cache_keys[slot * params.width + column] = ${rounded('keys[source]')};
  cache_values[slot * params.width + column] = ${rounded('values[source]')};`
}
}`,
    },
    uniforms: uniformsAt(firstPosition),
    ...(paged ? {} : { position: { firstPosition, uniforms: uniformsAt } }),
    buffers: [
      { tracked: newKeys.tracked },
      { tracked: newValues.tracked },
      { tracked: cacheKeys.tracked },
      { tracked: cacheValues.tracked },
      ...(paged ? [{ tracked: addressing.positionsAndSlots.tracked }] : []),
    ],
    workgroups: linearGrid(Math.ceil(count / WORKGROUP)),
  });
}
