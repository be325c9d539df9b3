import type { GgmlTypeName } from './ggml-type.js';

/**
 * Element types of activations and other computed tensors. Weights keep their file format (see {@link WeightType}).
 * `f16` is a storage type only (a KV cache kept in half precision, see `Backend.createKeyValueCache`): ops compute in
 * f32, and reading an f16 tensor gives f32 values.
 */
export type DType = 'f32' | 'i32' | 'f16';

/** Bytes one element of `dtype` occupies in storage. */
export function dtypeBytes(dtype: DType): number {
  return dtype === 'f16' ? 2 : 4;
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
