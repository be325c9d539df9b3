export type {
  DecodeOptions,
  EncodeOptions,
  SpecialTokenIds,
  StreamDecoder,
  StreamDecoderOptions,
  Tokenizer,
  TokenizerKind,
} from './tokenizer.js';
export type { TokenizerMetadata } from './metadata-values.js';
export { tokenizerFromGguf } from './gguf-tokenizer.js';
export { SUPPORTED_GGUF_TOKENIZERS } from './gguf-vocabulary.js';
export { SUPPORTED_PRE_TOKENIZERS } from './pre-tokenizers.js';
export { type GenerationConfigJson, type TokenizerConfigJson, tokenizerFromJson } from './json-tokenizer.js';
export { tokenizerFromModel } from './model-tokenizer.js';
