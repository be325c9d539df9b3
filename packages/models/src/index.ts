export type {
  CompleteModel,
  EmbeddingModel,
  ForwardContext,
  LanguageModel,
  LayerCacheSpec,
  LayerRange,
  TransformerModel,
} from './model/capabilities.js';
