/**
 * Every stable error code strata raises. Codes never change meaning once released; add new ones at the end of a group.
 * Callers switch on `error.code`, never on the message.
 */
export type StrataErrorCode =
  // input files and byte sources
  | 'INVALID_FILE'
  | 'TRUNCATED_FILE'
  | 'UNSUPPORTED_VERSION'
  | 'UNKNOWN_VALUE_TYPE'
  | 'UNKNOWN_TENSOR_TYPE'
  | 'UNSUPPORTED_TENSOR_TYPE'
  | 'INVALID_TENSOR_INFO'
  | 'MISSING_METADATA'
  | 'INVALID_METADATA'
  | 'TENSOR_NOT_FOUND'
  | 'IO_ERROR'
  | 'NETWORK_ERROR'
  | 'STORAGE_QUOTA'
  | 'CACHE_LOCKED'
  // configuration and models
  | 'INVALID_CONFIG'
  | 'UNKNOWN_ARCHITECTURE'
  | 'SHAPE_MISMATCH'
  | 'DTYPE_MISMATCH'
  // tokenizers and templates
  | 'UNKNOWN_TOKENIZER'
  | 'TOKENIZER_ERROR'
  | 'TOKEN_OUT_OF_RANGE'
  | 'TEMPLATE_NOT_FOUND'
  | 'TEMPLATE_ERROR'
  // compute
  | 'BACKEND_MISMATCH'
  | 'TENSOR_DISPOSED'
  | 'NO_ADAPTER'
  | 'DEVICE_LOST'
  | 'GPU_VALIDATION'
  | 'OUT_OF_MEMORY'
  // runtime and generation
  | 'INVALID_ARGUMENT'
  | 'INVALID_SAMPLING_OPTIONS'
  | 'CONTEXT_OVERFLOW'
  | 'ABORTED'
  | 'TRANSPORT_ERROR'
  | 'STEP_CAPTURE'
  | 'MODEL_NOT_FOUND'
  // structured output
  | 'INVALID_GRAMMAR'
  | 'UNSUPPORTED_SCHEMA';
