/** @packageDocumentation @strata/primitives — composable transformer building blocks; see README.md. */
export {
  type AttentionCacheSpec,
  type AttentionContext,
  type AttentionGeometry,
  type AttentionProjections,
  type AttentionStepContext,
  CausalAttention,
  type FusedProjections,
  type GroupedProjections,
  type PagedAttentionContext,
  type SeparateProjections,
  type SequenceAttentionContext,
} from './attention/causal-attention.js';
export type { BranchFusion } from './block/branch-fusion.js';
export { ParallelTransformerBlock, type ParallelBlockParts } from './block/parallel-block.js';
export {
  type Block,
  type SequenceBlock,
  TransformerBlock,
  type TransformerBlockParts,
} from './block/transformer-block.js';
export { PostNormBlock, type PostNormBlockParts } from './block/post-norm-block.js';
export type { FeedForward } from './feed-forward/feed-forward.js';
export { type FusedGateUp, GatedMlp, type SeparateGateUp } from './feed-forward/gated-mlp.js';
export { Mlp } from './feed-forward/mlp.js';
export { type ExpertRoutingSettings, type ExpertWeights, MoE } from './feed-forward/mixture-of-experts.js';
export { TokenEmbedding } from './layers/embedding.js';
export { EncoderEmbedding, type EncoderEmbeddingParts } from './layers/encoder-embedding.js';
export { L2Normalization, Pooling, type PoolingMode } from './pooling/pooling.js';
export { Linear } from './layers/linear.js';
export { LanguageModelHead } from './layers/lm-head.js';
export { LayerNorm, type Norm, RmsNorm } from './layers/norm.js';
export {
  type DefaultRopeScaling,
  type FrequencyFactorsRopeScaling,
  type LinearRopeScaling,
  type Llama3RopeScaling,
  type LongRopeScaling,
  type RopeContextOptions,
  type RopeScaling,
  ropeParameters,
  type RotarySettings,
  type YarnRopeScaling,
} from './rope/rope.js';
