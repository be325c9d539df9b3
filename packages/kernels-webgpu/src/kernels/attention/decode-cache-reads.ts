import { q8ScaleWordIndex } from './q8-cache-wgsl.js';

// How the decode attention kernel (decode-attention.ts) reads its cache: a 16-byte piece of a key row (the score
// pass) and 4 values of a value row (the value pass), from an f32, f16 or q8_0 cache.

/** How the cache holds keys and values: f32, f16 (two halves per word) or q8_0 (`WGSL_Q8_READ`). */
export type CacheElements = 'f32' | 'f16' | 'q8_0';

/** WGSL: the key piece `piece` of the key at `row` (ring row `ring`) as vec4s `k0 …`, and its scale `d` (q8_0). */
export function keyPieceWgsl(elements: CacheElements): string {
  if (elements === 'f32') return 'let k0 = keys[(row + piece * 4u) / 4u];';
  if (elements === 'f16') {
    return `let word = keys[(row + piece * 8u) / 8u];
      let k0 = vec4<f32>(unpack2x16float(word.x), unpack2x16float(word.y));
      let k1 = vec4<f32>(unpack2x16float(word.z), unpack2x16float(word.w));`;
  }
  return `let word = keys[(row + piece * 16u) / 16u];
      let column = kv_head * HD + piece * 16u;
      let scale_index = ${q8ScaleWordIndex('params.capacity', 'width', 'ring', 'column')};
      let d = half_value(extractBits(keys[scale_index / 4u][scale_index % 4u], ((column >> 5u) & 1u) * 16u, 16u));
      let k0 = quads(word.x);
      let k1 = quads(word.y);
      let k2 = quads(word.z);
      let k3 = quads(word.w);`;
}

/** WGSL statements returning the 4 values of a value row from element `row` (a multiple of 4) as a vec4<f32>. */
export function valuePieceWgsl(elements: CacheElements): string {
  if (elements === 'f32') return 'return values[row / 4u];';
  if (elements === 'f16')
    return 'return vec4<f32>(unpack2x16float(values[row / 2u]), unpack2x16float(values[row / 2u + 1u]));';
  return `let column = kv_head * HD + p * 4u;
  let scale_word = values[${q8ScaleWordIndex('params.capacity', 'width', 'ring', 'column')}];
  return quads(values[row / 4u]) * half_value(extractBits(scale_word, ((column >> 5u) & 1u) * 16u, 16u));`;
}

/** WGSL: four int8 quants of a word as floats, lowest byte first. */
export const WGSL_QUADS = /* wgsl */ `
fn quads(word: u32) -> vec4<f32> {
  return vec4<f32>((vec4<i32>(bitcast<i32>(word)) << vec4<u32>(24u, 16u, 8u, 0u)) >> vec4<u32>(24u));
}`;
