import {
  type Backend,
  type KeyValueCache,
  type KeyValuePrecision,
  Q8_0_BLOCK_SIZE,
  StrataError,
  storageBytes,
} from '@strata/core';
import type { LayerCacheSpec } from '@strata/models';

/** Geometry of one layer's cache: how many rows it holds and the layer's sliding window, if any. */
export interface CacheGeometry {
  /** Rows of the cache: the context length, or less for a sliding-window ring buffer. */
  readonly capacity: number;
  /** Sliding window of the layer (undefined: full attention). */
  readonly window?: number;
}

/**
 * Rows a layer's cache needs for a context of `contextLength` tokens written at most `chunkSize` rows per step: the
 * context for full attention, `window + chunkSize − 1` for a sliding window (a ring buffer; see `KeyValueCache`).
 */
export function cacheCapacity(spec: LayerCacheSpec, contextLength: number, chunkSize: number): number {
  if (spec.window === undefined) return contextLength;
  return Math.min(contextLength, spec.window + chunkSize - 1);
}

/** The device caches of a range of layers. */
export interface LayerCaches {
  /** One cache per layer, in the order of the model's `cacheSpecs`. */
  readonly caches: readonly KeyValueCache[];
  /** Their geometry, same order. */
  readonly geometry: readonly CacheGeometry[];
  /** Bytes the caches occupy on the device (`storageBytes` of their tensors, before the backend rounds buffers up). */
  readonly byteLength: number;
}

/**
 * Checks that caches of `precision` can hold the layers of `specs`: a q8_0 cache needs heads of a multiple of 32
 * dimensions (its blocks of 32 values must not straddle two heads). Throws `INVALID_ARGUMENT` saying which cache
 * types fit instead.
 */
export function checkCachePrecision(specs: readonly LayerCacheSpec[], precision: KeyValuePrecision): void {
  if (precision !== 'q8_0') return;
  const misfit = specs.find((spec) => spec.headDimensions % Q8_0_BLOCK_SIZE !== 0);
  if (misfit === undefined) return;
  throw new StrataError(
    'INVALID_ARGUMENT',
    `cacheType 'q8_0' stores blocks of ${Q8_0_BLOCK_SIZE} values within a head, but this model's heads have ${misfit.headDimensions} dimensions; use cacheType 'f16' or 'f32'.`,
    { details: { cacheType: precision, headDimensions: misfit.headDimensions } },
  );
}

/**
 * Allocates zeroed caches on `backend` for every layer spec, sized to the requested context (not the model's);
 * `precision` `'f16'` stores halves (half the bytes of f32, on the CPU and WebGPU) and rounds what is written to
 * half precision; `'q8_0'` stores blocks of 32 int8 quants and an f16 scale on every backend (34 bytes per 32
 * values; see `Backend.createKeyValueCache`). Throws `INVALID_ARGUMENT` when the heads do not fit the precision
 * ({@link checkCachePrecision}).
 */
export function allocateLayerCaches(
  backend: Backend,
  specs: readonly LayerCacheSpec[],
  contextLength: number,
  chunkSize: number,
  precision: KeyValuePrecision = 'f32',
): LayerCaches {
  checkCachePrecision(specs, precision);
  const caches: KeyValueCache[] = [];
  const geometry: CacheGeometry[] = [];
  let byteLength = 0;
  for (const spec of specs) {
    const capacity = cacheCapacity(spec, contextLength, chunkSize);
    const cache = backend.createKeyValueCache(capacity, spec.keyValueWidth, precision);
    caches.push(cache);
    geometry.push(spec.window === undefined ? { capacity } : { capacity, window: spec.window });
    byteLength += 2 * storageBytes(cache.keys.dtype, [capacity, spec.keyValueWidth]);
  }
  return { caches, geometry, byteLength };
}

/**
 * Bytes of `rows` rows of keys and values of `width` in a cache of `precision` on `backend`: `2 · storageBytes` of the
 * storage type the backend picks (f16: 2 bytes per value; q8_0: 34 bytes per 32 values, on every backend).
 * Found by making a one-row cache and handing it back.
 */
export function keyValueBytes(backend: Backend, width: number, rows: number, precision: KeyValuePrecision): number {
  const probe = backend.createKeyValueCache(1, width, precision);
  const dtype = probe.keys.dtype;
  backend.dispose(probe.keys);
  backend.dispose(probe.values);
  return 2 * storageBytes(dtype, [rows, width]);
}

/** Hands the caches' storage back to the backend. */
export function disposeLayerCaches(backend: Backend, layerCaches: LayerCaches): void {
  for (const cache of layerCaches.caches) {
    backend.dispose(cache.keys);
    backend.dispose(cache.values);
  }
}

/**
 * Whether caches holding positions `[0, cachedLength)` still hold intact entries for a continuation at `keep`:
 * always for full attention; for a ring buffer only if no later write overwrote the window before `keep`.
 */
export function canResumeAt(geometry: readonly CacheGeometry[], cachedLength: number, keep: number): boolean {
  if (keep >= cachedLength) return true;
  for (const layer of geometry) {
    if (layer.window === undefined) continue;
    // The query at `keep` reads positions keep − window + 1 … keep − 1; the oldest must not have been overwritten by
    // any position written after it (keep − window + 1 + capacity ≤ cachedLength − 1 would have).
    const oldest = Math.max(0, keep - layer.window + 1);
    if (cachedLength - 1 - oldest >= layer.capacity) return false;
  }
  return true;
}
