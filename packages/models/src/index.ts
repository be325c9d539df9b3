/** @packageDocumentation @strata/models — model families, the transformer builder and the architecture registry. */
export type {
  CompleteModel,
  EmbeddingModel,
  EmbeddingPooling,
  TextEmbeddingModel,
  ForwardContext,
  LanguageModel,
  LayerCacheSpec,
  LayerRange,
  PagedForwardContext,
  PagedTransformerModel,
  TransformerModel,
} from './model/capabilities.js';
export { supportsPagedForward } from './model/capabilities.js';
export type { ExpertsConfig, ModelStructure, RopeConfig, TransformerConfig } from './config/transformer-config.js';
export { type FamilyConfigDefaults, LLAMA_STRUCTURE } from './config/family-defaults.js';
export { type GgufConfigHints, parseGgufConfig } from './config/gguf-config.js';
export { parseHuggingFaceConfig } from './config/huggingface-config.js';
export {
  type LayerTensorRole,
  layerTensorName,
  type ModelTensorRole,
  modelTensorName,
  type NameOverrides,
  type NameTable,
  overrideNames,
  type TensorNaming,
} from './naming/tensor-naming.js';
export { GGUF_NAMES, ggufNaming } from './naming/gguf-naming.js';
export { HUGGING_FACE_NAMES, huggingFaceNaming } from './naming/huggingface-naming.js';
export { type VectorOptions, WeightSource } from './weights/weight-source.js';
export {
  type LayerContext,
  type LayerCustomizer,
  type LoadLayersOptions,
  loadStandardLayer,
  loadTransformerLayers,
  resolveLayerRange,
} from './builder/layer-loader.js';
export { RoleWeights } from './builder/role-weights.js';
export { RopeTables } from './builder/rope-tables.js';
export {
  assembleTransformer,
  type CompleteTransformer,
  type FirstTransformerPart,
  type LastTransformerPart,
  type LoadedTransformer,
  type MiddleTransformerPart,
  type TransformerPart,
  type TransformerPieces,
} from './builder/transformer-model.js';
export { forwardLogits } from './builder/forward-logits.js';
export {
  type LoadModelOptions,
  loadCompleteModelWith,
  loadModelWith,
  type ResolvedModel,
  resolveModel,
} from './builder/load-model.js';
export { defineFamily, type ModelFamily } from './registry/model-family.js';
export { type ArchitectureSource, FamilyRegistry } from './registry/family-registry.js';
export { DEFAULT_FAMILIES, DEFAULT_REGISTRY } from './registry/default-registry.js';
export { type LoadOptions, loadModel } from './load-model.js';
export { type BertConfig, parseBertConfig } from './bert/bert-config.js';
export {
  BERT_GGUF_NAMING,
  type BertLayerRole,
  type BertModelRole,
  type BertNaming,
  bertHuggingFaceNaming,
} from './bert/bert-naming.js';
export { type BertEncoder, loadBertEncoder } from './bert/load-bert.js';
export { type DecoderEncoder, loadDecoderEncoder } from './embedding/decoder-embedding.js';
export {
  isEncoderOnly,
  type LoadEmbeddingModelOptions,
  loadEmbeddingModel,
} from './embedding/load-embedding-model.js';
export {
  readSentenceTransformersSettings,
  type SentenceTransformersSettings,
} from './embedding/sentence-transformers.js';
