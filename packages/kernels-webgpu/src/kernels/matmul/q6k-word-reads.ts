/**
 * WGSL reading a Q6_K weight bound as `weights: array<u32>`: its 210-byte blocks start on even bytes only, so
 * `word_at(byte)` and `words4(byte)` read aligned words and shift by 16 bits where a block starts 2 bytes into a word.
 * Shared by the one-row Q6_K kernel (`quant-matvec-shader.ts`) and the 8-bit-input one (`int8/int8-batch-units.ts`).
 */
export const Q6K_WORD_READS_WGSL = /* wgsl */ `// The u32 at an even byte offset (2 bytes into a word: the high half of one word and the low half of the next).
fn word_at(byte: u32) -> u32 {
  let index = byte >> 2u;
  let first = weights[index];
  return select(first, (first >> 16u) | (weights[index + 1u] << 16u), (byte & 2u) != 0u);
}
// Four consecutive words from an even byte offset: five aligned loads.
fn words4(byte: u32) -> vec4<u32> {
  let index = byte >> 2u;
  let w = array<u32, 5>(weights[index], weights[index + 1u], weights[index + 2u], weights[index + 3u], weights[index + 4u]);
  if ((byte & 2u) == 0u) { return vec4<u32>(w[0], w[1], w[2], w[3]); }
  return vec4<u32>((w[0] >> 16u) | (w[1] << 16u), (w[1] >> 16u) | (w[2] << 16u), (w[2] >> 16u) | (w[3] << 16u), (w[3] >> 16u) | (w[4] << 16u));
}`;
