/** Every comparison the conformance suite makes, one per op (and one for the cache contents). */
export type ConformanceOp =
  | 'memory'
  | 'embedding'
  | 'matmul'
  | 'prefillMatmul'
  | 'batchedMatmul'
  | 'matmulExperts'
  | 'rmsNormMatmul'
  | 'rmsNormGatedMatmul'
  | 'matmulAdd'
  | 'add'
  | 'mul'
  | 'scale'
  | 'activation'
  | 'gatedActivation'
  | 'softcap'
  | 'rmsNorm'
  | 'layerNorm'
  | 'softmax'
  | 'rope'
  | 'writeKeyValues'
  | 'attention'
  | 'writePagedKeyValues'
  | 'pagedAttention'
  | 'gatherRows'
  | 'selfAttention'
  | 'poolSequences'
  | 'l2Normalize'
  | 'routeExperts'
  | 'combineExperts'
  | 'argmax'
  | 'sampleToken'
  | 'composition';

/** An element passes when |actual − expected| ≤ absolute + relative · |expected|. i32 results always compare exactly. */
export interface Tolerance {
  /** Absolute slack. */
  readonly absolute: number;
  /** Slack relative to the reference value. */
  readonly relative: number;
}

/**
 * Default tolerances of an f32 backend against the CPU reference (f32 storage, f64 accumulation). Inputs are O(1):
 * matmul sums 37…512 products of values within ±1.5, attention mixes values within ±1. A kernel with a layout or
 * indexing bug misses these by orders of magnitude; an f32 kernel with another summation order or a fast
 * exp/tanh/sin passes. Backends with lower-precision paths pass overrides to `describeBackendConformance`.
 */
export const CONFORMANCE_TOLERANCES: Readonly<Record<ConformanceOp, Tolerance>> = Object.freeze({
  memory: { absolute: 0, relative: 0 },
  embedding: { absolute: 1e-6, relative: 1e-6 },
  matmul: { absolute: 5e-4, relative: 1e-4 },
  // The prefill-sized product (more rows than a batched decode step): matmul's slack; a backend that rounds its inputs
  // there (WebGPU's int8Prefill) passes INT8_ACTIVATION_TOLERANCE instead.
  prefillMatmul: { absolute: 5e-4, relative: 1e-4 },
  // A batched decode step's product (16 to 32 rows): matmul's slack; a backend that rounds its inputs there (WebGPU's
  // int8BatchRows) passes INT8_ACTIVATION_TOLERANCE instead.
  batchedMatmul: { absolute: 5e-4, relative: 1e-4 },
  matmulExperts: { absolute: 5e-4, relative: 1e-4 },
  // The fused projections: matmul's slack (the norm's mean square may be summed in another order); the gated product
  // multiplies two such sums, so its slack is relative to the larger magnitude.
  rmsNormMatmul: { absolute: 5e-4, relative: 1e-4 },
  rmsNormGatedMatmul: { absolute: 2e-3, relative: 2e-4 },
  matmulAdd: { absolute: 5e-4, relative: 1e-4 },
  add: { absolute: 1e-6, relative: 1e-6 },
  mul: { absolute: 1e-6, relative: 1e-6 },
  scale: { absolute: 1e-6, relative: 1e-6 },
  activation: { absolute: 2e-5, relative: 2e-5 },
  gatedActivation: { absolute: 2e-5, relative: 2e-5 },
  softcap: { absolute: 2e-5, relative: 2e-5 },
  rmsNorm: { absolute: 2e-5, relative: 2e-5 },
  layerNorm: { absolute: 2e-5, relative: 2e-5 },
  softmax: { absolute: 1e-6, relative: 1e-4 },
  rope: { absolute: 2e-4, relative: 1e-4 },
  writeKeyValues: { absolute: 0, relative: 0 },
  attention: { absolute: 1e-4, relative: 1e-4 },
  writePagedKeyValues: { absolute: 0, relative: 0 },
  pagedAttention: { absolute: 1e-4, relative: 1e-4 },
  gatherRows: { absolute: 0, relative: 0 },
  selfAttention: { absolute: 1e-4, relative: 1e-4 },
  poolSequences: { absolute: 1e-6, relative: 1e-5 },
  l2Normalize: { absolute: 1e-6, relative: 1e-5 },
  routeExperts: { absolute: 1e-5, relative: 1e-5 },
  combineExperts: { absolute: 1e-5, relative: 1e-5 },
  argmax: { absolute: 0, relative: 0 },
  sampleToken: { absolute: 0, relative: 0 },
  composition: { absolute: 5e-4, relative: 1e-3 },
});

/**
 * `prefillMatmul`'s (and `batchedMatmul`'s) tolerance for a backend that rounds the inputs of those products to int8
 * blocks of 32 (WebGPU's `tuning.int8Prefill` and `tuning.int8BatchRows`: scale max|x|/127 per block, so each input moves by at most half a step, ≈ 1/254 here). On the
 * case's inputs (uniform in ±1, 512 columns, Q8_0/Q4_K weights of |w| ≈ 0.5) that error has a standard deviation of
 * about 0.025 and reached 0.094 over the case's 2 680 outputs (the CPU computation of the int8 contract); the absolute
 * slack is 10 standard deviations. An indexing or scaling bug misses by the outputs' size (up to ≈ 20).
 */
export const INT8_ACTIVATION_TOLERANCE: Tolerance = Object.freeze({ absolute: 0.25, relative: 5e-3 });
