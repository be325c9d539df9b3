import { StrataError, type WeightType, ggmlTypeFromName, isWeightType } from '@strata/core';
import { dequantizeBF16, dequantizeF16, dequantizeF32 } from './float-types.js';
import { dequantizeIQ4_NL, dequantizeIQ4_XS } from './iq4.js';
import { dequantizeQ2_K, dequantizeQ3_K, dequantizeQ4_K, dequantizeQ5_K, dequantizeQ6_K } from './k-quants.js';
import {
  type BlockDecoder,
  dequantizeQ4_0,
  dequantizeQ4_1,
  dequantizeQ5_0,
  dequantizeQ5_1,
  dequantizeQ8_0,
} from './legacy-quants.js';

const DECODERS: Readonly<Record<WeightType, BlockDecoder>> = {
  F32: dequantizeF32,
  F16: dequantizeF16,
  BF16: dequantizeBF16,
  Q8_0: dequantizeQ8_0,
  Q4_0: dequantizeQ4_0,
  Q4_1: dequantizeQ4_1,
  Q5_0: dequantizeQ5_0,
  Q5_1: dequantizeQ5_1,
  Q2_K: dequantizeQ2_K,
  Q3_K: dequantizeQ3_K,
  Q4_K: dequantizeQ4_K,
  Q5_K: dequantizeQ5_K,
  Q6_K: dequantizeQ6_K,
  IQ4_NL: dequantizeIQ4_NL,
  IQ4_XS: dequantizeIQ4_XS,
};

/** Block geometry of a weight type: elements per block and bytes per block. */
export interface BlockGeometry {
  /** Elements per block (1 for F32/F16/BF16). */
  readonly blockSize: number;
  /** Bytes one block occupies. */
  readonly bytesPerBlock: number;
}

/** Elements per block and bytes per block of a weight type; throws `UNSUPPORTED_TENSOR_TYPE` for other ggml types. */
export function blockGeometry(type: string): BlockGeometry {
  if (!isWeightType(type)) {
    throw new StrataError(
      'UNSUPPORTED_TENSOR_TYPE',
      `strata cannot compute with ggml type ${type}; re-quantize the model to one of F32, F16, BF16, Q8_0, Q4_0, Q4_1, Q5_0, Q5_1, Q2_K…Q6_K, IQ4_NL, IQ4_XS.`,
      { details: { type } },
    );
  }
  const info = ggmlTypeFromName(type);
  return { blockSize: info.blockSize, bytesPerBlock: info.bytesPerBlock };
}

/** Bytes a row of `columns` elements takes; throws `INVALID_TENSOR_INFO` when the row is not a whole number of blocks. */
export function rowByteLength(type: WeightType, columns: number): number {
  const { blockSize, bytesPerBlock } = blockGeometry(type);
  if (!Number.isSafeInteger(columns) || columns < 0 || columns % blockSize !== 0) {
    throw new StrataError(
      'INVALID_TENSOR_INFO',
      `A row of ${columns} elements is not a whole number of ${type} blocks of ${blockSize}.`,
      { details: { type, columns } },
    );
  }
  return (columns / blockSize) * bytesPerBlock;
}

/**
 * Decodes `elementCount` elements (a whole number of blocks) stored from `byteOffset` of `bytes` into
 * `output[outputOffset…]`. The allocation-free primitive the kernels use.
 */
export function dequantizeInto(
  type: WeightType,
  bytes: Uint8Array,
  byteOffset: number,
  elementCount: number,
  output: Float32Array,
  outputOffset = 0,
): void {
  const { blockSize, bytesPerBlock } = blockGeometry(type);
  const blocks = elementCount / blockSize;
  if (!Number.isInteger(blocks)) rowByteLength(type, elementCount);
  if (byteOffset < 0 || byteOffset + blocks * bytesPerBlock > bytes.length) {
    throw new StrataError(
      'TRUNCATED_FILE',
      `${type} data holds ${bytes.length} bytes; ${elementCount} elements at byte ${byteOffset} need ${blocks * bytesPerBlock}.`,
      { details: { type, elementCount, byteOffset, byteLength: bytes.length } },
    );
  }
  if (outputOffset < 0 || outputOffset + elementCount > output.length) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `The output holds ${output.length} elements; ${elementCount} do not fit at ${outputOffset}.`,
    );
  }
  DECODERS[type](bytes, byteOffset, output, outputOffset, blocks);
}

/** Decodes a whole tensor of `elementCount` elements in `type`'s block format to f32. */
export function dequantize(type: WeightType, bytes: Uint8Array, elementCount: number): Float32Array {
  const output = new Float32Array(elementCount);
  dequantizeInto(type, bytes, 0, elementCount, output, 0);
  return output;
}

/**
 * Decodes row `row` of a `[rows, columns]` matrix stored in `type` (each row a whole number of blocks) into `output`
 * (a new array of `columns` elements when omitted).
 */
export function dequantizeRow(
  type: WeightType,
  bytes: Uint8Array,
  row: number,
  columns: number,
  output: Float32Array = new Float32Array(columns),
): Float32Array {
  dequantizeInto(type, bytes, row * rowByteLength(type, columns), columns, output, 0);
  return output;
}
