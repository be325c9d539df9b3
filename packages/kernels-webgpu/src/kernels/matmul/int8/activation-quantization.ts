// The contract of the int8 prefill path's activation quantization, and its CPU reference. The GPU kernel
// (`activation-quantization-shader.ts`) gives the same quants, scales and sums bit for bit.
import { StrataError } from '@strata/core';

/** Columns of one activation block: one scale and one quant sum per 32 consecutive values of a row. */
export const INT8_BLOCK_COLUMNS = 32;

/** fl32(1/127): a block's scale starts as its largest magnitude times this (a product, rounded alike everywhere). */
export const ACTIVATION_SCALE_FACTOR = Math.fround(1 / 127);

/**
 * Significant bits a scale keeps (those of an f16, with f32's exponent range): the midpoints `(q ± ½) · d` that decide
 * the rounding are then exact in f32 (9 bits times 11), so a GPU finds ties exactly as the CPU does.
 */
export const ACTIVATION_SCALE_BITS = 11;

/** Scales below this (2⁻¹⁰⁰, far below any activation that matters) are 0: the block is stored as zeros. */
export const SMALLEST_ACTIVATION_SCALE = 2 ** -100;

/** Rows of activations quantized to int8 blocks of {@link INT8_BLOCK_COLUMNS}. */
export interface QuantizedActivations {
  /** Rows. */
  readonly rows: number;
  /** Values per row (a multiple of 32). */
  readonly columns: number;
  /** `[rows, columns]` int8 quants, row-major (the GPU packs them 4 per word, lowest byte first). */
  readonly quants: Int8Array;
  /** `[rows, columns / 32]` f32 scales `d`: a value is `q · d`. */
  readonly scales: Float32Array;
  /** `[rows, columns / 32]` sums of each block's 32 quants (the K-quants' min term needs them). */
  readonly sums: Int32Array;
}

const SCRATCH_F32 = new Float32Array(1);
const SCRATCH_U32 = new Uint32Array(SCRATCH_F32.buffer);

/**
 * The scale of a block whose largest magnitude is `amax` (finite): `p = fl32(amax · fl32(1/127))` rounded to 11
 * significant bits (to nearest, ties to even, on the f32 bit pattern), or 0 when that is below 2⁻¹⁰⁰.
 */
export function activationBlockScale(amax: number): number {
  SCRATCH_F32[0] = Math.fround(amax * ACTIVATION_SCALE_FACTOR);
  const bits = SCRATCH_U32[0]!;
  const dropped = 23 - (ACTIVATION_SCALE_BITS - 1);
  const half = (1 << (dropped - 1)) - 1;
  SCRATCH_U32[0] = ((bits + half + ((bits >>> dropped) & 1)) & ~((1 << dropped) - 1)) >>> 0;
  const scale = SCRATCH_F32[0]!;
  return scale >= SMALLEST_ACTIVATION_SCALE ? scale : 0;
}

/**
 * The quant of `value` in a block of scale `scale`: the exact quotient `value / scale` rounded to the nearest integer,
 * halves away from zero (C's `roundf`, as llama.cpp rounds), clamped to ±127; 0 when the scale is 0. The f64 quotient
 * of an f32 by an 11-bit scale is close enough to the exact one that ties and near-ties round exactly.
 */
export function activationQuant(value: number, scale: number): number {
  if (scale === 0) return 0;
  const quotient = value / scale;
  const rounded = Math.sign(quotient) * Math.floor(Math.abs(quotient) + 0.5);
  return Math.max(-127, Math.min(127, rounded)) || 0;
}

/**
 * The CPU reference of the activation quantization: each block of 32 values of each row of `values` (`[rows,
 * columns]`, finite) gets the scale {@link activationBlockScale}(max |x|), the quants {@link activationQuant}(x, d)
 * and their sum. Throws `SHAPE_MISMATCH` when `columns` is not a positive multiple of 32 or `values` is not
 * `rows · columns` long.
 */
export function quantizeActivations(values: Float32Array, rows: number, columns: number): QuantizedActivations {
  if (!(Number.isInteger(columns) && columns > 0 && columns % INT8_BLOCK_COLUMNS === 0)) {
    throw new StrataError('SHAPE_MISMATCH', `Int8 activation blocks need a multiple of 32 columns, got ${columns}.`, {
      details: { columns },
    });
  }
  if (!Number.isInteger(rows) || rows < 0 || values.length !== rows * columns) {
    throw new StrataError('SHAPE_MISMATCH', `Expected ${rows} × ${columns} values, got ${values.length}.`, {
      details: { rows, columns, length: values.length },
    });
  }
  const blocks = rows * (columns / INT8_BLOCK_COLUMNS);
  const quants = new Int8Array(rows * columns);
  const scales = new Float32Array(blocks);
  const sums = new Int32Array(blocks);
  for (let block = 0; block < blocks; block++) {
    const first = block * INT8_BLOCK_COLUMNS;
    let amax = 0;
    for (let index = first; index < first + INT8_BLOCK_COLUMNS; index++)
      amax = Math.max(amax, Math.abs(values[index]!));
    const scale = activationBlockScale(amax);
    let sum = 0;
    for (let index = first; index < first + INT8_BLOCK_COLUMNS; index++) {
      const quant = activationQuant(values[index]!, scale);
      quants[index] = quant;
      sum += quant;
    }
    scales[block] = scale;
    sums[block] = sum;
  }
  return { rows, columns, quants, scales, sums };
}
