import type { ByteSource } from './byte-source/byte-source.js';
import type { DirectorySource } from './byte-source/directory-source.js';
import { type GgufFile, openGguf } from './gguf/gguf-file.js';
import type { GgufMetadata } from './gguf/gguf-metadata.js';
import {
  type HuggingFaceDirectory,
  type JsonObject,
  openHuggingFaceDirectory,
} from './huggingface/huggingface-directory.js';
import type { TensorStore } from './tensor-store.js';

/** A GGUF model: its metadata (config, tokenizer and chat template live there) and tensors. */
export interface GgufModelFiles {
  /** Discriminant. */
  readonly format: 'gguf';
  /** What was opened (a path, a URL, a file name). */
  readonly name: string;
  /** The whole parsed file (all shards). */
  readonly gguf: GgufFile;
  /** Shortcut to `gguf.metadata`. */
  readonly metadata: GgufMetadata;
  /** `general.architecture`, when present. */
  readonly architecture: string | undefined;
  /** The tensors. */
  readonly tensors: TensorStore;
}

/** A Hugging Face model directory: JSON configs, tokenizer files, chat template and safetensors tensors. */
export interface HuggingFaceModelFiles {
  /** Discriminant. */
  readonly format: 'huggingface';
  /** What was opened (the directory). */
  readonly name: string;
  /** The parsed directory. */
  readonly huggingface: HuggingFaceDirectory;
  /** Shortcut to `huggingface.config`. */
  readonly config: JsonObject;
  /** The first entry of `config.architectures` (for example `LlamaForCausalLM`), else `config.model_type`. */
  readonly architecture: string | undefined;
  /** The tensors. */
  readonly tensors: TensorStore;
}

/** An opened model in either format; switch on `format`. */
export type ModelFiles = GgufModelFiles | HuggingFaceModelFiles;

function isDirectory(input: ByteSource | readonly ByteSource[] | DirectorySource): input is DirectorySource {
  return !Array.isArray(input) && typeof (input as DirectorySource).list === 'function';
}

/** Opens a model from GGUF byte sources (one file or the shards of a split model) or a Hugging Face directory. */
export async function openModel(input: ByteSource | readonly ByteSource[] | DirectorySource): Promise<ModelFiles> {
  if (isDirectory(input)) {
    const huggingface = await openHuggingFaceDirectory(input);
    const { config } = huggingface;
    const architectures = config.architectures;
    const first = Array.isArray(architectures) && typeof architectures[0] === 'string' ? architectures[0] : undefined;
    const modelType = typeof config.model_type === 'string' ? config.model_type : undefined;
    return {
      format: 'huggingface',
      name: input.name,
      huggingface,
      config,
      architecture: first ?? modelType,
      tensors: huggingface.tensors,
    };
  }
  const gguf = await openGguf(input);
  const name = Array.isArray(input) ? (input[0]?.name ?? 'gguf') : (input as ByteSource).name;
  return {
    format: 'gguf',
    name,
    gguf,
    metadata: gguf.metadata,
    architecture: gguf.architecture,
    tensors: gguf.tensors,
  };
}
