import type { GgmlTypeName } from './ggml-type.js';

/**
 * Element types of activations and other computed tensors. Weights keep their file format (see {@link WeightType}).
 * `f16` and `q8_0` are storage types only (a KV cache kept in half precision or in 8-bit blocks, see
 * `Backend.createKeyValueCache` and `KeyValueCache.precision`): ops compute in f32, and reading such a tensor gives
 * its f32 values.
 */
export type DType = 'f32' | 'i32' | 'f16' | 'q8_0';

/** Values per block of a `q8_0` tensor: each block of a row is 32 int8 quants and one f16 scale. */
export const Q8_0_BLOCK_SIZE = 32;

/**
 * Bytes one element of `dtype` occupies in storage: 4 (f32, i32), 2 (f16), 34/32 (q8_0: 32 one-byte quants and a
 * two-byte scale per 32 values; exact for rows of a multiple of 64 values, see {@link storageBytes}).
 */
export function dtypeBytes(dtype: DType): number {
  if (dtype === 'f16') return 2;
  if (dtype === 'q8_0') return 34 / Q8_0_BLOCK_SIZE;
  return 4;
}

/**
 * Bytes a tensor of `dtype` and `shape` occupies in storage (before a backend rounds its buffer up). A `q8_0` tensor
 * `[rows, columns]` (columns a multiple of 32) is a plane of `rows · columns` int8 quants followed by a plane of f16
 * scales, one per block of 32 columns, each row's scales padded to whole 4-byte words: `rows · (columns + 4 ·
 * ⌈columns / 64⌉)` bytes, which is 34/32 bytes per value when `columns` is a multiple of 64 (2 bytes of padding per
 * row otherwise). Other types take `elements · dtypeBytes(dtype)`.
 */
export function storageBytes(dtype: DType, shape: readonly number[]): number {
  const elements = shape.reduce((product, size) => product * size, 1);
  if (dtype !== 'q8_0') return elements * dtypeBytes(dtype);
  const columns = shape.length === 0 ? 1 : shape[shape.length - 1]!;
  if (columns === 0) return 0;
  return (elements / columns) * (columns + 4 * Math.ceil(columns / (2 * Q8_0_BLOCK_SIZE)));
}

/** The ggml types strata computes with as weights: dequantized inside the kernels of every backend. */
export type WeightType = Extract<
  GgmlTypeName,
  | 'F32'
  | 'F16'
  | 'BF16'
  | 'Q8_0'
  | 'Q4_0'
  | 'Q4_1'
  | 'Q5_0'
  | 'Q5_1'
  | 'Q2_K'
  | 'Q3_K'
  | 'Q4_K'
  | 'Q5_K'
  | 'Q6_K'
  | 'IQ4_NL'
  | 'IQ4_XS'
>;

/** Every {@link WeightType}, in a stable order (tests iterate it). */
export const WEIGHT_TYPES: readonly WeightType[] = Object.freeze([
  'F32',
  'F16',
  'BF16',
  'Q8_0',
  'Q4_0',
  'Q4_1',
  'Q5_0',
  'Q5_1',
  'Q2_K',
  'Q3_K',
  'Q4_K',
  'Q5_K',
  'Q6_K',
  'IQ4_NL',
  'IQ4_XS',
] as const);

/** True when strata can compute with weights of this ggml type. */
export function isWeightType(name: string): name is WeightType {
  return (WEIGHT_TYPES as readonly string[]).includes(name);
}
