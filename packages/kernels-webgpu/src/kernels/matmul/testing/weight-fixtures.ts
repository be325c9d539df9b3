import { fileURLToPath } from 'node:url';
import type { WeightType } from '@strata/core';

/** Folder of the quant-base model (one GGUF file per weight type), relative to this package's sources. */
export const QUANT_BASE = fileURLToPath(
  new URL('../../../../../../../shared/fixtures/models/quant-base/', import.meta.url),
);

/** The quant-base GGUF file holding every matrix in `type`. */
export function quantBaseFile(type: WeightType): string {
  return `${QUANT_BASE}model-${type === 'F32' ? 'f32' : type}.gguf`;
}

/** A deterministic pseudo-random generator (mulberry32) giving values in [-1, 1). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) / 4294967296) * 2 - 1;
  };
}

/** `count` pseudo-random values in [-1, 1). */
export function randomValues(count: number, seed: number): Float32Array {
  const next = seededRandom(seed);
  return Float32Array.from({ length: count }, () => next());
}
