import { StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { dequantize, dequantizeRow, rowByteLength } from './dequantize.js';
import { bfloat16ToFloat, floatToBfloat16, floatToHalf, halfToFloat } from './half.js';
import { IQ4_CODEBOOK } from './iq4.js';

/** Writes an f16 value little-endian at `offset`. */
function putHalf(bytes: Uint8Array, offset: number, value: number): void {
  const bits = floatToHalf(value);
  bytes[offset] = bits & 0xff;
  bytes[offset + 1] = bits >> 8;
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, index) => index);
}

describe('half and bfloat16 conversion', () => {
  it('encodes and decodes exact values, subnormals, rounding, overflow and specials', () => {
    expect(floatToHalf(1)).toBe(0x3c00);
    expect(floatToHalf(-2)).toBe(0xc000);
    expect(floatToHalf(65504)).toBe(0x7bff);
    expect(floatToHalf(70000)).toBe(0x7c00);
    expect(floatToHalf(2 ** -24)).toBe(0x0001);
    expect(floatToHalf(2 ** -26)).toBe(0x0000);
    expect(floatToHalf(1 + 2 ** -11)).toBe(0x3c00); // halfway: rounds to even
    expect(floatToHalf(1 + 3 * 2 ** -11)).toBe(0x3c02);
    expect(halfToFloat(0x3555)).toBeCloseTo(0.33325, 5);
    expect(halfToFloat(0x0001)).toBe(2 ** -24);
    expect(halfToFloat(0xfc00)).toBe(Number.NEGATIVE_INFINITY);
    expect(halfToFloat(0x7e00)).toBeNaN();
    for (const value of [0.1, -3.75, 1000, 6.1e-5, 0]) expect(halfToFloat(floatToHalf(value))).toBeCloseTo(value, 3);
    expect(floatToBfloat16(1)).toBe(0x3f80);
    expect(bfloat16ToFloat(0xc0a0)).toBe(-5);
    expect(bfloat16ToFloat(floatToBfloat16(Math.PI))).toBeCloseTo(3.140625, 6);
  });
});

describe('dequantization of the 32-element block types', () => {
  it('Q8_0: signed bytes times d', () => {
    const block = new Uint8Array(34);
    putHalf(block, 0, 0.25);
    range(32).forEach((j) => {
      block[2 + j] = (j * 8 - 128) & 0xff;
    });
    expect(Array.from(dequantize('Q8_0', block, 32))).toEqual(range(32).map((j) => (j * 8 - 128) * 0.25));
  });

  it('Q4_0 and Q4_1: low nibbles are elements 0…15, high nibbles 16…31', () => {
    const q40 = new Uint8Array(18);
    putHalf(q40, 0, 0.5);
    range(16).forEach((j) => {
      q40[2 + j] = j | ((15 - j) << 4);
    });
    const expected40 = [...range(16).map((j) => (j - 8) * 0.5), ...range(16).map((j) => (15 - j - 8) * 0.5)];
    expect(Array.from(dequantize('Q4_0', q40, 32))).toEqual(expected40);
    const q41 = new Uint8Array(20);
    putHalf(q41, 0, 2);
    putHalf(q41, 2, -1);
    q41.set(q40.subarray(2), 4);
    const expected41 = [...range(16).map((j) => j * 2 - 1), ...range(16).map((j) => (15 - j) * 2 - 1)];
    expect(Array.from(dequantize('Q4_1', q41, 32))).toEqual(expected41);
  });

  it('Q5_0 and Q5_1: bit j of the 32-bit high mask is the fifth bit of element j', () => {
    const high = 0b1010_0000_0000_0001_1000_0000_0000_0011;
    const fifth = (j: number) => ((high >>> j) & 1) * 16;
    const q50 = new Uint8Array(22);
    putHalf(q50, 0, 0.125);
    new DataView(q50.buffer).setUint32(2, high, true);
    range(16).forEach((j) => {
      q50[6 + j] = (j % 16) | (((j * 3) % 16) << 4);
    });
    const low = (j: number) => (j < 16 ? j : ((j - 16) * 3) % 16);
    expect(Array.from(dequantize('Q5_0', q50, 32))).toEqual(range(32).map((j) => (low(j) + fifth(j) - 16) * 0.125));
    const q51 = new Uint8Array(24);
    putHalf(q51, 0, 0.5);
    putHalf(q51, 2, 3);
    q51.set(q50.subarray(2), 4);
    expect(Array.from(dequantize('Q5_1', q51, 32))).toEqual(range(32).map((j) => (low(j) + fifth(j)) * 0.5 + 3));
  });

  it('IQ4_NL: nibbles index the non-linear codebook', () => {
    const block = new Uint8Array(18);
    putHalf(block, 0, 0.5);
    range(16).forEach((j) => {
      block[2 + j] = j | ((15 - j) << 4);
    });
    const expected = [
      ...range(16).map((j) => IQ4_CODEBOOK[j]! * 0.5),
      ...range(16).map((j) => IQ4_CODEBOOK[15 - j]! * 0.5),
    ];
    expect(Array.from(dequantize('IQ4_NL', block, 32))).toEqual(expected);
  });
});

describe('dequantization of the K block types (element-indexed formulas)', () => {
  it('Q2_K: 2-bit quants, one 4-bit scale and min per 16 elements', () => {
    const block = new Uint8Array(84);
    range(16).forEach((i) => {
      block[i] = (i % 16) | (((i * 7) % 16) << 4);
    });
    range(64).forEach((k) => {
      block[16 + k] = (k * 37 + 11) & 0xff;
    });
    putHalf(block, 80, 0.5);
    putHalf(block, 82, 0.25);
    const expected = range(256).map((element) => {
      const half = element >> 7;
      const pass = (element & 127) >> 5;
      const group = (element >> 4) & 1;
      const scale = block[half * 8 + pass * 2 + group]!;
      const quant = (block[16 + half * 32 + group * 16 + (element & 15)]! >> (2 * pass)) & 3;
      return 0.5 * (scale & 15) * quant - 0.25 * (scale >> 4);
    });
    expect(Array.from(dequantize('Q2_K', block, 256))).toEqual(expected);
  });

  it('Q4_K: 6-bit scales and mins unpacked as get_scale_min_k4, nibbles per 64 elements', () => {
    const block = new Uint8Array(144);
    putHalf(block, 0, 1);
    putHalf(block, 2, 0.5);
    block.set([1 | 64, 2, 3, 4, 2, 2, 2, 2 | 128, 0x35, 0x35, 0x35, 0x35], 4);
    block.fill(0x73, 16);
    // Sub-blocks 0…3 take bytes 0…3 (scale) and 4…7 (min); 4…7 take nibbles of bytes 8…11 plus the top bits of 0…7.
    const scales = [1, 2, 3, 4, 5 | 16, 5, 5, 5];
    const mins = [2, 2, 2, 2, 3, 3, 3, 3 | 32];
    const expected = range(256).map((element) => {
      const sub = element >> 5;
      return scales[sub]! * (sub % 2 === 0 ? 3 : 7) - 0.5 * mins[sub]!;
    });
    expect(Array.from(dequantize('Q4_K', block, 256))).toEqual(expected);
  });

  it('Q6_K: low nibbles, 2 high bits, signed scales per 16 elements', () => {
    const block = new Uint8Array(210);
    block.fill(0x21, 0, 128);
    block.fill(0b11_10_01_00, 128, 192);
    const scales = range(16).map((i) => (i % 2 === 0 ? i + 1 : -i));
    scales.forEach((scale, i) => {
      block[192 + i] = scale & 0xff;
    });
    putHalf(block, 208, 0.5);
    const quants = [1 - 32, (1 | 16) - 32, (2 | 32) - 32, (2 | 48) - 32];
    const expected = range(256).map((element) => {
      const half = element >> 7;
      const quarter = (element & 127) >> 5;
      const scale = scales[8 * half + 2 * quarter + ((element & 31) >> 4)]!;
      return 0.5 * scale * quants[quarter]!;
    });
    expect(Array.from(dequantize('Q6_K', block, 256))).toEqual(expected);
  });
});

/** Packs 8 six-bit scales and mins the way ggml's K-quant quantizers do (the inverse of get_scale_min_k4). */
function packScalesK4(scales: number[], mins: number[]): number[] {
  const bytes = new Array<number>(12).fill(0);
  for (let j = 0; j < 8; j++) {
    if (j < 4) {
      bytes[j] = scales[j]!;
      bytes[j + 4] = mins[j]!;
    } else {
      bytes[j + 4] = (scales[j]! & 0x0f) | ((mins[j]! & 0x0f) << 4);
      bytes[j - 4] = bytes[j - 4]! | ((scales[j]! >> 4) << 6);
      bytes[j] = bytes[j]! | ((mins[j]! >> 4) << 6);
    }
  }
  return bytes;
}

describe('dequantization of the K block types with packed 6-bit scales (encoder-side packing)', () => {
  it('Q3_K: 16 six-bit scales, 2-bit low quants and a high-bit mask', () => {
    const block = new Uint8Array(110);
    range(32).forEach((k) => {
      block[k] = (k * 97 + 5) & 0xff;
    });
    range(64).forEach((k) => {
      block[32 + k] = (k * 53 + 7) & 0xff;
    });
    const scales = range(16).map((j) => (j * 11 + 3) % 64);
    scales.forEach((value, j) => {
      if (j < 8) block[96 + j] = block[96 + j]! | (value & 0x0f);
      else block[96 + j - 8] = block[96 + j - 8]! | ((value & 0x0f) << 4);
      block[96 + 8 + (j % 4)] = block[96 + 8 + (j % 4)]! | ((value >> 4) << (2 * Math.floor(j / 4)));
    });
    putHalf(block, 108, 0.25);
    const expected = range(256).map((element) => {
      const half = element >> 7;
      const pass = (element & 127) >> 5;
      const group = (element >> 4) & 1;
      const l = element & 15;
      const low = (block[32 + half * 32 + group * 16 + l]! >> (2 * pass)) & 3;
      const high = (block[group * 16 + l]! >> (half * 4 + pass)) & 1;
      return 0.25 * (scales[half * 8 + pass * 2 + group]! - 32) * (low - (high ? 0 : 4));
    });
    expect(Array.from(dequantize('Q3_K', block, 256))).toEqual(expected);
  });

  it('Q5_K: Q4_K nibbles plus a fifth bit per sub-block', () => {
    const block = new Uint8Array(176);
    putHalf(block, 0, 0.5);
    putHalf(block, 2, 0.25);
    const scales = [63, 1, 17, 40, 5, 33, 62, 9];
    const mins = [2, 60, 31, 0, 47, 16, 8, 63];
    block.set(packScalesK4(scales, mins), 4);
    range(32).forEach((l) => {
      block[16 + l] = (l * 29 + 3) & 0xff;
    });
    range(128).forEach((k) => {
      block[48 + k] = (k * 71 + 13) & 0xff;
    });
    const expected = range(256).map((element) => {
      const sub = element >> 5;
      const l = element & 31;
      const byte = block[48 + (sub >> 1) * 32 + l]!;
      const quant = (sub % 2 === 0 ? byte & 0x0f : byte >> 4) + 16 * ((block[16 + l]! >> sub) & 1);
      return 0.5 * scales[sub]! * quant - 0.25 * mins[sub]!;
    });
    expect(Array.from(dequantize('Q5_K', block, 256))).toEqual(expected);
  });

  it('IQ4_XS: codebook indices with a 6-bit scale per 32 elements', () => {
    const block = new Uint8Array(136);
    putHalf(block, 0, 0.125);
    const scales = [0, 63, 32, 31, 7, 50, 19, 44];
    let high = 0;
    scales.forEach((value, sub) => {
      high |= (value >> 4) << (2 * sub);
      block[4 + (sub >> 1)] = block[4 + (sub >> 1)]! | ((value & 0x0f) << (4 * (sub % 2)));
    });
    block[2] = high & 0xff;
    block[3] = high >> 8;
    range(128).forEach((k) => {
      block[8 + k] = (k * 45 + 17) & 0xff;
    });
    const expected = range(256).map((element) => {
      const sub = element >> 5;
      const j = element & 31;
      const byte = block[8 + sub * 16 + (j & 15)]!;
      return 0.125 * (scales[sub]! - 32) * IQ4_CODEBOOK[j < 16 ? byte & 0x0f : byte >> 4]!;
    });
    expect(Array.from(dequantize('IQ4_XS', block, 256))).toEqual(expected);
  });
});

describe('dequantization entry points', () => {
  it('decodes one row of a matrix and sizes rows by whole blocks', () => {
    const rows = new Uint8Array(68);
    putHalf(rows, 0, 1);
    putHalf(rows, 34, 2);
    rows.fill(1, 36, 68);
    expect(Array.from(dequantizeRow('Q8_0', rows, 1, 32))).toEqual(new Array(32).fill(2));
    expect(rowByteLength('Q4_K', 512)).toBe(288);
    expect(rowByteLength('F16', 7)).toBe(14);
  });

  it('rejects partial blocks, short data and types it cannot compute with', () => {
    const code = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return StrataError.isInstance(error) ? error.code : undefined;
      }
      return 'no error';
    };
    expect(code(() => rowByteLength('Q4_0', 48))).toBe('INVALID_TENSOR_INFO');
    expect(code(() => dequantize('Q4_0', new Uint8Array(17), 32))).toBe('TRUNCATED_FILE');
    expect(code(() => dequantize('Q8_K' as never, new Uint8Array(292), 256))).toBe('UNSUPPORTED_TENSOR_TYPE');
  });
});
