// IQ4_NL and IQ4_XS: 4-bit indices into a fixed non-linear codebook (facts from ggml-common.h / ggml-quants.c).
import { halfTable16 } from './half.js';
import { type BlockDecoder, decodeNibbleLevels, nibbleLevelsDecoder } from './legacy-quants.js';

/** The 16 signed levels IQ4_NL and IQ4_XS index (ggml's `kvalues_iq4nl`). */
export const IQ4_CODEBOOK: Int8Array = Int8Array.from([
  -127, -104, -83, -65, -49, -35, -22, -10, 1, 13, 25, 38, 53, 69, 89, 113,
]);

/** IQ4_NL: f16 d, 16 bytes of nibbles; x = codebook[q] · d (low nibbles: elements 0…15, high: 16…31). 18 bytes. */
export const dequantizeIQ4_NL: BlockDecoder = nibbleLevelsDecoder(IQ4_CODEBOOK);

/**
 * IQ4_XS: 256 elements as 8 sub-blocks of 32. f16 d, u16 of high scale bits (2 per sub-block), 4 bytes of low scale
 * nibbles, 128 bytes of codebook indices laid out per sub-block as in IQ4_NL. Sub-block scale: d · (ls − 32) with the
 * 6-bit ls. 136 bytes.
 */
export const dequantizeIQ4_XS: BlockDecoder = (source, byteOffset, output, outputOffset, blocks) => {
  const half = halfTable16();
  for (let block = 0; block < blocks; block++) {
    const base = byteOffset + block * 136;
    const d = half[source[base]! | (source[base + 1]! << 8)]!;
    const scalesHigh = source[base + 2]! | (source[base + 3]! << 8);
    for (let sub = 0; sub < 8; sub++) {
      const low = (source[base + 4 + (sub >> 1)]! >> (4 * (sub & 1))) & 0x0f;
      const scale = d * ((low | (((scalesHigh >> (2 * sub)) & 3) << 4)) - 32);
      const quants = base + 8 + sub * 16;
      decodeNibbleLevels(source, quants, IQ4_CODEBOOK, scale, output, outputOffset + block * 256 + sub * 32);
    }
  }
};
