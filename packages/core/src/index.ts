export type { StrataErrorCode } from './errors/error-code.js';
export { StrataError, type StrataErrorOptions } from './errors/strata-error.js';
export {
  GGML_TYPES,
  ggmlByteLength,
  ggmlTypeFromId,
  ggmlTypeFromName,
  type GgmlTypeInfo,
  type GgmlTypeName,
} from './dtypes/ggml-type.js';
export {
  dtypeBytes,
  isWeightType,
  Q8_0_BLOCK_SIZE,
  storageBytes,
  WEIGHT_TYPES,
  type DType,
  type WeightType,
} from './dtypes/dtype.js';
export { elementCount, type Tensor, type WeightDescriptor, type WeightTensor } from './tensor/tensor.js';
export type { RopePairing, RopeParameters } from './backend/rope.js';
export type { StepBody, StepInputShapes, StepPlan } from './backend/step-plan.js';
export { checkStepIds, checkStepInputs, createEagerStepPlan } from './backend/eager-step-plan.js';
export type {
  PoolSequencesOptions,
  SelfAttentionOptions,
  SequenceBatchLayout,
  SequenceBatchShape,
  SequencePooling,
} from './backend/sequence-batch.js';
export { validateSequenceBatch } from './backend/sequence-batch.js';
export { validateSamplingParameters } from './backend/sampling-validation.js';
export {
  checkPagedBatch,
  checkPagedPoolSize,
  createPagedBatch,
  encodePagedBatch,
  type PagedAttentionOptions,
  pagedBatchOf,
  pagedBatchShapes,
  type PagedBatch,
  type PagedBatchData,
  type PagedBatchLayout,
  type PagedKeyValueCache,
  type PagedSequenceRows,
} from './backend/paged-cache.js';
export { createScopedBackend, type ScopedBackend, type TensorScope } from './backend/scoped-backend.js';
export { isWeightByteReader, settleReads, type WeightByteReader } from './backend/weight-byte-reader.js';
export type {
  ActivationKind,
  AttentionOptions,
  Backend,
  ExpertRouting,
  ExpertRoutingOptions,
  InputNorm,
  KeyValueCache,
  KeyValuePrecision,
  Projection,
  SamplingParameters,
  WeightBytes,
} from './backend/backend.js';
