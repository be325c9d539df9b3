// The 256-element "K" block formats of ggml (facts from ggml-common.h / ggml-quants.c; the code is strata's own).
import { halfTable16 } from './half.js';
import type { BlockDecoder } from './legacy-quants.js';

/**
 * Q2_K: 16 bytes of scale/min nibbles (scale low, min high, one per 16 elements), 64 bytes of 2-bit quants,
 * f16 d, f16 dmin; x = d · scale · q − dmin · min. 84 bytes. Each 128-element half reads 32 quant bytes four times,
 * two bits deeper each time, 16 elements per scale.
 */
export const dequantizeQ2_K: BlockDecoder = (source, byteOffset, output, outputOffset, blocks) => {
  const half = halfTable16();
  for (let block = 0; block < blocks; block++) {
    const base = byteOffset + block * 84;
    const d = half[source[base + 80]! | (source[base + 81]! << 8)]!;
    const dmin = half[source[base + 82]! | (source[base + 83]! << 8)]!;
    let out = outputOffset + block * 256;
    let scaleIndex = 0;
    for (let halfBlock = 0; halfBlock < 2; halfBlock++) {
      const quants = base + 16 + halfBlock * 32;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let group = 0; group < 2; group++) {
          const packed = source[base + scaleIndex++]!;
          const scale = d * (packed & 0x0f);
          const minimum = dmin * (packed >> 4);
          const start = quants + group * 16;
          for (let l = 0; l < 16; l++) output[out++] = scale * ((source[start + l]! >> shift) & 3) - minimum;
        }
      }
    }
  }
};

const q3Scales = new Int32Array(16);

/** Unpacks the 16 6-bit scales of a Q3_K block (12 bytes: 4 low bits of each, then 2 high bits of each). */
function unpackQ3Scales(source: Uint8Array, offset: number, scales: Int32Array): void {
  for (let index = 0; index < 16; index++) {
    const low = index < 8 ? source[offset + index]! & 0x0f : source[offset + index - 8]! >> 4;
    const high = (source[offset + 8 + (index & 3)]! >> (2 * (index >> 2))) & 3;
    scales[index] = (low | (high << 4)) - 32;
  }
}

/**
 * Q3_K: 32 bytes of high bits (hmask), 64 bytes of 2-bit low quants, 12 bytes of 6-bit scales, f16 d.
 * x = d · (scale − 32) · (q − 4 · (1 − highBit)). 110 bytes. Quant layout as Q2_K; the high bit of element i of each
 * 128-element half at pass p (0…3) is bit (4·half + p) of hmask[l] for l in 0…31.
 */
export const dequantizeQ3_K: BlockDecoder = (source, byteOffset, output, outputOffset, blocks) => {
  const half = halfTable16();
  const scales = q3Scales;
  for (let block = 0; block < blocks; block++) {
    const base = byteOffset + block * 110;
    const d = half[source[base + 108]! | (source[base + 109]! << 8)]!;
    unpackQ3Scales(source, base + 96, scales);
    let out = outputOffset + block * 256;
    let scaleIndex = 0;
    let mask = 1;
    for (let halfBlock = 0; halfBlock < 2; halfBlock++) {
      const quants = base + 32 + halfBlock * 32;
      for (let shift = 0; shift < 8; shift += 2) {
        for (let group = 0; group < 2; group++) {
          const scale = d * scales[scaleIndex++]!;
          const start = group * 16;
          for (let l = 0; l < 16; l++) {
            const low = (source[quants + start + l]! >> shift) & 3;
            const high = source[base + start + l]! & mask ? 0 : 4;
            output[out++] = scale * (low - high);
          }
        }
        mask <<= 1;
      }
    }
  }
};

/** ggml's `get_scale_min_k4`: the 6-bit scale and min of sub-block j (0…7) from the 12 packed bytes at `offset`. */
function scaleMinK4(source: Uint8Array, offset: number, j: number, result: Int32Array): void {
  if (j < 4) {
    result[0] = source[offset + j]! & 63;
    result[1] = source[offset + j + 4]! & 63;
  } else {
    result[0] = (source[offset + j + 4]! & 0x0f) | ((source[offset + j - 4]! >> 6) << 4);
    result[1] = (source[offset + j + 4]! >> 4) | ((source[offset + j]! >> 6) << 4);
  }
}

const scaleMin = new Int32Array(2);

/**
 * Q4_K: f16 d, f16 dmin, 12 bytes of 6-bit scales and mins (8 sub-blocks of 32), 128 bytes of nibbles.
 * Each 64 elements use 32 bytes: low nibbles first (sub-block 2i), then high nibbles (2i+1).
 * x = d · scale · q − dmin · min. 144 bytes.
 */
export const dequantizeQ4_K: BlockDecoder = (source, byteOffset, output, outputOffset, blocks) => {
  const half = halfTable16();
  for (let block = 0; block < blocks; block++) {
    const base = byteOffset + block * 144;
    const d = half[source[base]! | (source[base + 1]! << 8)]!;
    const dmin = half[source[base + 2]! | (source[base + 3]! << 8)]!;
    let out = outputOffset + block * 256;
    for (let pair = 0; pair < 4; pair++) {
      const quants = base + 16 + pair * 32;
      scaleMinK4(source, base + 4, 2 * pair, scaleMin);
      const scale1 = d * scaleMin[0]!;
      const min1 = dmin * scaleMin[1]!;
      scaleMinK4(source, base + 4, 2 * pair + 1, scaleMin);
      const scale2 = d * scaleMin[0]!;
      const min2 = dmin * scaleMin[1]!;
      for (let l = 0; l < 32; l++) output[out++] = scale1 * (source[quants + l]! & 0x0f) - min1;
      for (let l = 0; l < 32; l++) output[out++] = scale2 * (source[quants + l]! >> 4) - min2;
    }
  }
};

/**
 * Q5_K: as Q4_K plus 32 bytes of fifth bits after the scales: for the 64-element group g, bit 2g of qh[l] extends the
 * low nibble of byte l and bit 2g+1 the high nibble. 176 bytes.
 */
export const dequantizeQ5_K: BlockDecoder = (source, byteOffset, output, outputOffset, blocks) => {
  const half = halfTable16();
  for (let block = 0; block < blocks; block++) {
    const base = byteOffset + block * 176;
    const d = half[source[base]! | (source[base + 1]! << 8)]!;
    const dmin = half[source[base + 2]! | (source[base + 3]! << 8)]!;
    const highBits = base + 16;
    let out = outputOffset + block * 256;
    for (let pair = 0; pair < 4; pair++) {
      const quants = base + 48 + pair * 32;
      scaleMinK4(source, base + 4, 2 * pair, scaleMin);
      const scale1 = d * scaleMin[0]!;
      const min1 = dmin * scaleMin[1]!;
      scaleMinK4(source, base + 4, 2 * pair + 1, scaleMin);
      const scale2 = d * scaleMin[0]!;
      const min2 = dmin * scaleMin[1]!;
      const lowMask = 1 << (2 * pair);
      const highMask = lowMask << 1;
      for (let l = 0; l < 32; l++) {
        const q = (source[quants + l]! & 0x0f) + (source[highBits + l]! & lowMask ? 16 : 0);
        output[out++] = scale1 * q - min1;
      }
      for (let l = 0; l < 32; l++) {
        const q = (source[quants + l]! >> 4) + (source[highBits + l]! & highMask ? 16 : 0);
        output[out++] = scale2 * q - min2;
      }
    }
  }
};

/**
 * Q6_K: 128 bytes of low nibbles, 64 bytes of 2-bit highs, 16 signed 8-bit scales (one per 16 elements), f16 d.
 * x = d · scale · (q − 32). 210 bytes. Per 128-element half: low nibbles of ql[0…63] give elements 0…63, high nibbles
 * 64…127; qh[l] holds the two high bits of elements l, l+32, l+64, l+96 at shifts 0, 2, 4, 6.
 */
export const dequantizeQ6_K: BlockDecoder = (source, byteOffset, output, outputOffset, blocks) => {
  const half = halfTable16();
  for (let block = 0; block < blocks; block++) {
    const base = byteOffset + block * 210;
    const d = half[source[base + 208]! | (source[base + 209]! << 8)]!;
    for (let halfBlock = 0; halfBlock < 2; halfBlock++) {
      const low = base + halfBlock * 64;
      const high = base + 128 + halfBlock * 32;
      const scales = base + 192 + halfBlock * 8;
      const out = outputOffset + block * 256 + halfBlock * 128;
      for (let l = 0; l < 32; l++) {
        const group = l >> 4;
        const h = source[high + l]!;
        const a = source[low + l]!;
        const b = source[low + l + 32]!;
        const q1 = ((a & 0x0f) | ((h & 3) << 4)) - 32;
        const q2 = ((b & 0x0f) | (((h >> 2) & 3) << 4)) - 32;
        const q3 = ((a >> 4) | (((h >> 4) & 3) << 4)) - 32;
        const q4 = ((b >> 4) | (((h >> 6) & 3) << 4)) - 32;
        output[out + l] = d * ((source[scales + group]! << 24) >> 24) * q1;
        output[out + l + 32] = d * ((source[scales + group + 2]! << 24) >> 24) * q2;
        output[out + l + 64] = d * ((source[scales + group + 4]! << 24) >> 24) * q3;
        output[out + l + 96] = d * ((source[scales + group + 6]! << 24) >> 24) * q4;
      }
    }
  }
};
