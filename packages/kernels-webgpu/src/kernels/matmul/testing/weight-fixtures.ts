import { fileURLToPath } from 'node:url';
import type { WeightType } from '@strata/core';
import { rowByteLength } from '@strata/kernels-cpu';
import { openGgufFile } from '@strata/loaders/node';

/** Folder of the quant-base model (one GGUF file per weight type), relative to this package's sources. */
export const QUANT_BASE = fileURLToPath(
  new URL('../../../../../../../shared/fixtures/models/quant-base/', import.meta.url),
);

/** The quant-base GGUF file holding every matrix in `type`. */
export function quantBaseFile(type: WeightType): string {
  return `${QUANT_BASE}model-${type === 'F32' ? 'f32' : type}.gguf`;
}

/** The first `rows` rows of the quant-base model's `blk.1.ffn_down.weight` (512 columns) in `type`, and its columns. */
export async function quantBaseRows(type: WeightType, rows: number): Promise<{ bytes: Uint8Array; columns: number }> {
  const file = await openGgufFile(quantBaseFile(type));
  const name = 'blk.1.ffn_down.weight';
  const [, columns] = file.tensors.get(name).shape as [number, number];
  const bytes = await file.tensors.readBytes(name);
  return { bytes: bytes.subarray(0, rows * rowByteLength(type, columns)), columns };
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
