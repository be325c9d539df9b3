/** Kernels of encoder (embedding) models: self-attention of padded batches, sequence pooling, L2 normalization. */
export { l2Normalize } from './l2-normalize.js';
export { poolSequences } from './pool-sequences.js';
export { selfAttention } from './self-attention.js';
