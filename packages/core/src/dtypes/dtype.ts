import type { GgmlTypeName } from './ggml-type.js';

/** Element types of activations and other computed tensors. Weights keep their file format (see {@link WeightType}). */
export type DType = 'f32' | 'i32';

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
