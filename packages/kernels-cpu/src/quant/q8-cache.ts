import { Q8_0_BLOCK_SIZE, StrataError, storageBytes } from '@strata/core';
import { floatToHalf, halfTable16 } from './half.js';

/** fl32(1/127): a block's scale is its largest magnitude times this, a product every backend rounds the same way. */
export const Q8_0_INVERSE_127 = Math.fround(1 / 127);

/**
 * Where the parts of a `q8_0` tensor `[rows, columns]` lie in its bytes (see `storageBytes` in core): the int8 quants
 * of element (row, column) at byte `row · columns + column`; the f16 scale of block `b` of a row at half
 * `scaleHalfOffset + row · 2 · scaleWordsPerRow + b`.
 */
export interface Q8Layout {
  /** Rows of the tensor. */
  readonly rows: number;
  /** Values per row (a multiple of 32). */
  readonly columns: number;
  /** Index, in halves (2 bytes), of the first scale: right after the quants. */
  readonly scaleHalfOffset: number;
  /** 4-byte words of scales per row: one half per block, padded to a whole word. */
  readonly scaleWordsPerRow: number;
  /** Bytes of the whole tensor. */
  readonly byteLength: number;
}

/** The layout of a `q8_0` tensor `[rows, columns]`; throws `SHAPE_MISMATCH` unless columns is a multiple of 32. */
export function q8Layout(rows: number, columns: number): Q8Layout {
  if (!(Number.isInteger(columns) && columns > 0 && columns % Q8_0_BLOCK_SIZE === 0)) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `A q8_0 KV cache needs rows of whole blocks of ${Q8_0_BLOCK_SIZE} values; rows of ${columns} are not (use heads of a multiple of 32 dimensions, or an f16/f32 cache).`,
      { details: { columns } },
    );
  }
  return {
    rows,
    columns,
    scaleHalfOffset: (rows * columns) / 2,
    scaleWordsPerRow: Math.ceil(columns / (2 * Q8_0_BLOCK_SIZE)),
    byteLength: storageBytes('q8_0', [rows, columns]),
  };
}

/** The f16 bits of the scale of a block whose largest magnitude is `amax`: f16(fl32(amax · fl32(1/127))). */
export function q8BlockScaleBits(amax: number): number {
  return floatToHalf(Math.fround(amax * Q8_0_INVERSE_127));
}

/**
 * The quant of `value` in a block of scale `scale` (an f16 value): `round(value / scale)` with halves away from zero,
 * clamped to ±127; 0 when the scale is 0. The quotient is exact enough in f64 that ties are found exactly.
 */
export function q8Quant(value: number, scale: number): number {
  if (scale === 0) return 0;
  const quotient = value / scale;
  const rounded = Math.sign(quotient) * Math.floor(Math.abs(quotient) + 0.5);
  return Math.max(-127, Math.min(127, rounded)) || 0;
}

/**
 * Quantizes `layout.columns` values of `source` (from `sourceOffset`) into row `row` of the q8_0 tensor in `storage`:
 * one f16 scale and 32 quants per block.
 */
export function quantizeQ8Row(
  source: Float32Array,
  sourceOffset: number,
  storage: Uint8Array,
  layout: Q8Layout,
  row: number,
): void {
  const quants = new Int8Array(storage.buffer, storage.byteOffset, layout.rows * layout.columns);
  const scales = new Uint16Array(storage.buffer, storage.byteOffset, layout.byteLength / 2);
  const table = halfTable16();
  const scaleBase = layout.scaleHalfOffset + row * 2 * layout.scaleWordsPerRow;
  for (let block = 0; block < layout.columns / Q8_0_BLOCK_SIZE; block++) {
    const first = sourceOffset + block * Q8_0_BLOCK_SIZE;
    let amax = 0;
    for (let index = 0; index < Q8_0_BLOCK_SIZE; index++) amax = Math.max(amax, Math.abs(source[first + index]!));
    const bits = q8BlockScaleBits(amax);
    const scale = table[bits]!;
    scales[scaleBase + block] = bits;
    const target = row * layout.columns + block * Q8_0_BLOCK_SIZE;
    for (let index = 0; index < Q8_0_BLOCK_SIZE; index++) {
      quants[target + index] = q8Quant(source[first + index]!, scale);
    }
  }
}

/** Writes the f32 values (`q · d`) of row `row` of the q8_0 tensor in `storage` into `target` from `targetOffset`. */
export function dequantizeQ8RowInto(
  storage: Uint8Array,
  layout: Q8Layout,
  row: number,
  target: Float32Array,
  targetOffset: number,
): void {
  const { columns } = layout;
  const quants = new Int8Array(storage.buffer, storage.byteOffset + row * columns, columns);
  const scales = new Uint16Array(storage.buffer, storage.byteOffset, layout.byteLength / 2);
  const table = halfTable16();
  const scaleBase = layout.scaleHalfOffset + row * 2 * layout.scaleWordsPerRow;
  for (let block = 0; block < columns / Q8_0_BLOCK_SIZE; block++) {
    const scale = table[scales[scaleBase + block]!]!;
    for (let index = block * Q8_0_BLOCK_SIZE; index < (block + 1) * Q8_0_BLOCK_SIZE; index++) {
      target[targetOffset + index] = quants[index]! * scale;
    }
  }
}

/** The f32 values (`q · d`) of rows `[firstRow, firstRow + count)` of the q8_0 tensor in `storage`, row-major. */
export function dequantizeQ8Rows(storage: Uint8Array, layout: Q8Layout, firstRow: number, count: number): Float32Array {
  const output = new Float32Array(count * layout.columns);
  for (let offset = 0; offset < count; offset++) {
    dequantizeQ8RowInto(storage, layout, firstRow + offset, output, offset * layout.columns);
  }
  return output;
}
