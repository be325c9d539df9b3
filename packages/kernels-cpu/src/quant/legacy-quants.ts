// The 32-element block formats of ggml (facts from ggml-common.h / ggml-quants.c; the code is strata's own).
// In every block the first 16 quants (low nibbles) are elements 0…15 and the high nibbles elements 16…31.
import { halfTable16 } from './half.js';

/** Signature of every block decoder: `blocks` consecutive blocks from `byteOffset` into `output[outputOffset…]`. */
export type BlockDecoder = (
  source: Uint8Array,
  byteOffset: number,
  output: Float32Array,
  outputOffset: number,
  blocks: number,
) => void;

/**
 * Decodes the 32 elements of 16 bytes of 4-bit indices at `quants` (low nibbles: elements 0…15, high: 16…31) as
 * `levels[q] · scale` into `output[outputOffset…]`.
 */
export function decodeNibbleLevels(
  source: Uint8Array,
  quants: number,
  levels: Int8Array,
  scale: number,
  output: Float32Array,
  outputOffset: number,
): void {
  for (let j = 0; j < 16; j++) {
    const byte = source[quants + j]!;
    output[outputOffset + j] = levels[byte & 0x0f]! * scale;
    output[outputOffset + j + 16] = levels[byte >> 4]! * scale;
  }
}

/**
 * A decoder of 18-byte blocks of 32 elements: f16 scale d, then 16 bytes of 4-bit indices; x = levels[q] · d. Q4_0
 * (levels q − 8) and IQ4_NL (a non-linear codebook) share this layout.
 */
export function nibbleLevelsDecoder(levels: Int8Array): BlockDecoder {
  return (source, byteOffset, output, outputOffset, blocks) => {
    const half = halfTable16();
    for (let block = 0; block < blocks; block++) {
      const base = byteOffset + block * 18;
      const d = half[source[base]! | (source[base + 1]! << 8)]!;
      decodeNibbleLevels(source, base + 2, levels, d, output, outputOffset + block * 32);
    }
  };
}

/** Q4_0: f16 scale d, 16 bytes of nibbles; x = (q − 8) · d. 18 bytes. */
export const dequantizeQ4_0: BlockDecoder = nibbleLevelsDecoder(Int8Array.from({ length: 16 }, (_, q) => q - 8));

/** Q4_1: f16 scale d, f16 minimum m, 16 bytes of nibbles; x = q · d + m. 20 bytes. */
export const dequantizeQ4_1: BlockDecoder = (source, byteOffset, output, outputOffset, blocks) => {
  const half = halfTable16();
  for (let block = 0; block < blocks; block++) {
    const base = byteOffset + block * 20;
    const out = outputOffset + block * 32;
    const d = half[source[base]! | (source[base + 1]! << 8)]!;
    const m = half[source[base + 2]! | (source[base + 3]! << 8)]!;
    for (let j = 0; j < 16; j++) {
      const byte = source[base + 4 + j]!;
      output[out + j] = (byte & 0x0f) * d + m;
      output[out + j + 16] = (byte >> 4) * d + m;
    }
  }
};

function readUint32(source: Uint8Array, offset: number): number {
  return (
    (source[offset]! | (source[offset + 1]! << 8) | (source[offset + 2]! << 16) | (source[offset + 3]! << 24)) >>> 0
  );
}

/** Q5_0: f16 d, 32 fifth bits (u32, bit j for element j), 16 bytes of nibbles; x = (q − 16) · d. 22 bytes. */
export const dequantizeQ5_0: BlockDecoder = (source, byteOffset, output, outputOffset, blocks) => {
  const half = halfTable16();
  for (let block = 0; block < blocks; block++) {
    const base = byteOffset + block * 22;
    const out = outputOffset + block * 32;
    const d = half[source[base]! | (source[base + 1]! << 8)]!;
    const high = readUint32(source, base + 2);
    for (let j = 0; j < 16; j++) {
      const byte = source[base + 6 + j]!;
      const low = (byte & 0x0f) | (((high >>> j) & 1) << 4);
      const upper = (byte >> 4) | (((high >>> (j + 16)) & 1) << 4);
      output[out + j] = (low - 16) * d;
      output[out + j + 16] = (upper - 16) * d;
    }
  }
};

/** Q5_1: f16 d, f16 m, 32 fifth bits, 16 bytes of nibbles; x = q · d + m. 24 bytes. */
export const dequantizeQ5_1: BlockDecoder = (source, byteOffset, output, outputOffset, blocks) => {
  const half = halfTable16();
  for (let block = 0; block < blocks; block++) {
    const base = byteOffset + block * 24;
    const out = outputOffset + block * 32;
    const d = half[source[base]! | (source[base + 1]! << 8)]!;
    const m = half[source[base + 2]! | (source[base + 3]! << 8)]!;
    const high = readUint32(source, base + 4);
    for (let j = 0; j < 16; j++) {
      const byte = source[base + 8 + j]!;
      const low = (byte & 0x0f) | (((high >>> j) & 1) << 4);
      const upper = (byte >> 4) | (((high >>> (j + 16)) & 1) << 4);
      output[out + j] = low * d + m;
      output[out + j + 16] = upper * d + m;
    }
  }
};

/** Q8_0: f16 d, 32 signed bytes; x = q · d. 34 bytes. */
export const dequantizeQ8_0: BlockDecoder = (source, byteOffset, output, outputOffset, blocks) => {
  const half = halfTable16();
  for (let block = 0; block < blocks; block++) {
    const base = byteOffset + block * 34;
    const out = outputOffset + block * 32;
    const d = half[source[base]! | (source[base + 1]! << 8)]!;
    for (let j = 0; j < 32; j++) output[out + j] = ((source[base + 2 + j]! << 24) >> 24) * d;
  }
};
