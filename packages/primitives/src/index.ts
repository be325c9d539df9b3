/** @packageDocumentation @strata/primitives — composable transformer building blocks; see README.md. */
export {
  type AttentionCacheSpec,
  type AttentionContext,
  type AttentionGeometry,
  type AttentionProjections,
  CausalAttention,
  type FusedProjections,
  type SeparateProjections,
} from './attention/causal-attention.js';
export { ParallelTransformerBlock, type ParallelBlockParts } from './block/parallel-block.js';
export { type Block, TransformerBlock, type TransformerBlockParts } from './block/transformer-block.js';
export type { FeedForward } from './feed-forward/feed-forward.js';
export { type FusedGateUp, GatedMlp, type SeparateGateUp } from './feed-forward/gated-mlp.js';
export { Mlp } from './feed-forward/mlp.js';
export { type ExpertRoutingSettings, type ExpertWeights, MoE } from './feed-forward/mixture-of-experts.js';
export { TokenEmbedding } from './layers/embedding.js';
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
