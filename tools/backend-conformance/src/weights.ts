import { type WeightType, ggmlTypeFromName } from '@strata/core';
import { floatToBfloat16, floatToHalf } from '@strata/kernels-cpu';
import type { SeededRandom } from './random.js';

/**
 * Where each block type keeps its f16 scale fields (byte offsets inside a block) and the range each is drawn from,
 * chosen so that decoded values stay within about ±1.5. All other bytes of a block are uniform random bytes, which are
 * valid quants of every type (every bit pattern of the quant, scale and mask fields is a legal value).
 */
const HALF_FIELDS: Partial<Record<WeightType, ReadonlyArray<readonly [offset: number, low: number, high: number]>>> = {
  Q8_0: [[0, 0.002, 0.01]],
  Q4_0: [[0, 0.03, 0.15]],
  Q4_1: [
    [0, 0.03, 0.1],
    [2, -0.8, 0.2],
  ],
  Q5_0: [[0, 0.02, 0.08]],
  Q5_1: [
    [0, 0.02, 0.05],
    [2, -0.8, 0.2],
  ],
  IQ4_NL: [[0, 0.002, 0.01]],
  Q2_K: [
    [80, 0.005, 0.03],
    [82, 0.002, 0.02],
  ],
  Q3_K: [[108, 0.002, 0.008]],
  Q4_K: [
    [0, 0.0005, 0.0015],
    [2, 0.0002, 0.002],
  ],
  Q5_K: [
    [0, 0.0003, 0.0008],
    [2, 0.0002, 0.001],
  ],
  Q6_K: [[208, 0.0001, 0.0004]],
  IQ4_XS: [[0, 0.0001, 0.0004]],
};

/**
 * Random, valid bytes of a `[rows, columns]` weight in `type` (an expert stack is `experts · rows` rows). Float types
 * hold uniform values in [−1, 1); block types hold random quants with bounded scales. Same random state, same bytes.
 */
export function randomWeightBytes(type: WeightType, rows: number, columns: number, random: SeededRandom): Uint8Array {
  const count = rows * columns;
  if (type === 'F32') return new Uint8Array(random.floats(count).buffer);
  if (type === 'F16' || type === 'BF16') {
    const encode = type === 'F16' ? floatToHalf : floatToBfloat16;
    const halves = new Uint16Array(count);
    for (let index = 0; index < count; index++) halves[index] = encode(random.uniform(-1, 1));
    return new Uint8Array(halves.buffer);
  }
  const { blockSize, bytesPerBlock } = ggmlTypeFromName(type);
  if (columns % blockSize !== 0) throw new Error(`${columns} columns are not a whole number of ${type} blocks`);
  const blocks = count / blockSize;
  const bytes = random.bytes(blocks * bytesPerBlock);
  const fields = HALF_FIELDS[type] ?? [];
  for (let block = 0; block < blocks; block++) {
    for (const [offset, low, high] of fields) {
      const bits = floatToHalf(random.uniform(low, high));
      bytes[block * bytesPerBlock + offset] = bits & 0xff;
      bytes[block * bytesPerBlock + offset + 1] = bits >> 8;
    }
  }
  return bytes;
}

/** A row width for `type` in the suite: a few blocks, never a multiple of 64 where the block size allows. */
export function conformanceColumns(type: WeightType): number {
  const { blockSize } = ggmlTypeFromName(type);
  if (type === 'F32') return 37;
  if (blockSize === 1) return 38;
  return blockSize === 32 ? 96 : 256;
}
