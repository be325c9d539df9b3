/** @packageDocumentation @strata/loaders — see README.md. */
export {
  allocateBytes,
  type ByteSource,
  bytesSource,
  checkReadRange,
  readIntoFrom,
} from './byte-source/byte-source.js';
export { blobSource } from './byte-source/blob-source.js';
export { type UrlSourceOptions, urlSource } from './byte-source/url-source.js';
export { type DirectorySource, sourcesDirectory } from './byte-source/directory-source.js';
export { blobsDirectory, type UrlDirectoryOptions, urlDirectory } from './byte-source/remote-directory.js';
export { closeNames } from './close-names.js';
export type {
  CacheEntryLock,
  CacheLockOptions,
  CacheRecord,
  CacheWriter,
  ModelCacheStore,
} from './cache/cache-store.js';
export type { CacheProgress } from './cache/cache-download.js';
export {
  type CachedEntry,
  type CachedSource,
  type CacheOpenOptions,
  ModelCache,
  type ModelCacheOptions,
} from './cache/model-cache.js';
export { cacheApiStore } from './cache/cache-api-store.js';
export { canWriteOpfs, opfsCacheStore } from './cache/opfs-cache-store.js';
export { browserCacheStore, browserModelCache } from './cache/browser-model-cache.js';
export { HUGGING_FACE_HUB, isModelUrl, type ModelUrl, resolveModelUrl } from './cache/model-url.js';
export { type OpenedModelUrl, type OpenModelUrlOptions, openModelUrl } from './cache/open-model-url.js';
export {
  DEFAULT_CHUNK_BYTES,
  LocatedTensorStore,
  type TensorEntry,
  type TensorLocation,
  type TensorStore,
} from './tensor-store.js';
export {
  GGUF_VALUE_TYPES,
  type GgufArray,
  type GgufArrayStorage,
  type GgufBigIntType,
  type GgufNumberArray,
  type GgufNumberType,
  type GgufTypedValue,
  type GgufValueType,
  ggufValue,
} from './gguf/gguf-value.js';
export { GgufMetadata, type GgufKind, type GgufKindValue } from './gguf/gguf-metadata.js';
export {
  GGUF_DEFAULT_ALIGNMENT,
  GGUF_MAGIC,
  type GgufHeader,
  type GgufTensorInfo,
  readGgufHeader,
} from './gguf/gguf-header.js';
export {
  GGUF_MAX_METADATA_ELEMENTS,
  GGUF_METADATA_MEMORY_FACTOR,
  GGUF_METADATA_SLACK_BYTES,
} from './gguf/gguf-metadata-budget.js';
export { type GgufFile, type GgufFileTensor, ggufShardNames, ggufTensorEntry, openGguf } from './gguf/gguf-file.js';
export {
  encodeGgufHeader,
  ggufChunks,
  type GgufLayout,
  type GgufTensorData,
  type GgufWriteSpec,
  type GgufWriteTensor,
  writeGguf,
  writeGgufTo,
} from './gguf/gguf-writer.js';
export {
  openSafetensors,
  readSafetensorsHeader,
  SAFETENSORS_DTYPE_BITS,
  SAFETENSORS_MAX_HEADER_BYTES,
  type SafetensorsDtype,
  type SafetensorsFile,
  type SafetensorsHeader,
  type SafetensorsTensorInfo,
  safetensorsTensorEntry,
} from './safetensors/safetensors.js';
export { openSafetensorsIndex, parseSafetensorsIndex, type SafetensorsIndex } from './safetensors/safetensors-index.js';
export {
  type HuggingFaceDirectory,
  type JsonObject,
  type JsonValue,
  openHuggingFaceDirectory,
} from './huggingface/huggingface-directory.js';
export { type GgufModelFiles, type HuggingFaceModelFiles, type ModelFiles, openModel } from './model-files.js';
export * from './tokenizer/index.js';
export * from './chat-template/index.js';
export { ggufFileTypeName } from './gguf/gguf-file-type.js';
