import type { AttentionOptions } from '@strata/core';
import { Uniforms } from '../../runtime/shader.js';

// The uniforms of the one-row (decode) attention kernel and its combine pass, in WGSL and as words.

/**
 * WGSL shared by the decode kernel and its combine pass: the uniforms of {@link decodeUniforms} and `visible_keys()`,
 * the keys the query sees and the splits that hold them, so both passes derive the same split count.
 */
export function decodeParamsWgsl(minKeysPerSplit: number): string {
  return /* wgsl */ `
struct Params {
  heads: u32, key_value_heads: u32, position: u32, capacity: u32, window: u32, first_key: u32,
  scale: f32, softcap: f32, splits: u32,
}
@group(0) @binding(0) var<uniform> params: Params;
const MIN_KEYS = ${minKeysPerSplit}u;

// The keys the query at params.position sees (first … position: causal, from the cache's oldest row, narrowed by the
// window) and the splits that hold them: at least MIN_KEYS keys each, at most the planned params.splits (the grid is
// planned for the most keys).
struct VisibleKeys { first: u32, count: u32, splits: u32 }
fn visible_keys() -> VisibleKeys {
  var first = params.first_key;
  if (params.window > 0u && params.position + 1u > params.window) { first = max(first, params.position + 1u - params.window); }
  let count = params.position + 1u - min(first, params.position + 1u);
  return VisibleKeys(first, count, clamp((count + MIN_KEYS - 1u) / MIN_KEYS, 1u, params.splits));
}`;
}

/**
 * Uniform words of the decode kernel and its combine pass (decode-attention.ts) for a query at `position`, over a ring
 * cache of `capacity` rows and `splits` planned key splits.
 */
export function decodeUniforms(
  options: AttentionOptions,
  capacity: number,
  splits: number,
  position: number,
): Uint32Array {
  const softcap = options.softcap !== undefined && options.softcap > 0 ? options.softcap : 0;
  return new Uniforms()
    .u(options.heads)
    .u(options.keyValueHeads)
    .u(position)
    .u(capacity)
    .u(options.window ?? 0)
    .u(Math.max(0, position + 1 - capacity))
    .f(options.scale)
    .f(softcap)
    .u(splits).words;
}
