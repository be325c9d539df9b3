import { type Backend, createScopedBackend, StrataError } from '@strata/core';
import {
  type ByteSource,
  ChatTemplate,
  type DirectorySource,
  type ModelFiles,
  openModel,
  resolveChatTemplate,
  type Tokenizer,
  tokenizerFromModel,
} from '@strata/loaders';
import { type FamilyRegistry, isEncoderOnly, loadModel } from '@strata/models';
import { checkCacheType, type RuntimeOptions, TextPipeline } from '../text-pipeline.js';
import { type LoadProgress, trackProgress } from './progress-store.js';

/** Options of {@link loadTextPipeline}. */
export interface LoadTextPipelineOptions extends RuntimeOptions {
  /** Where the weights go and every op runs (`createCpuBackend()`, `createWebGpuBackend()`). */
  readonly backend: Backend;
  /** Called as tensor bytes are read and uploaded. */
  readonly onProgress?: (progress: LoadProgress) => void;
  /** A Jinja chat template to use instead of the model's own. */
  readonly chatTemplate?: string;
  /** The model families to choose from (default: every shipped family). */
  readonly registry?: FamilyRegistry;
}

/**
 * What a pipeline loads from: a local path (Node: a `.gguf` file, the first shard of a split GGUF, or a Hugging Face
 * directory), byte sources (browsers: `urlSource`, `blobSource`), a directory source, or files already opened.
 */
export type ModelSource = string | ByteSource | readonly ByteSource[] | DirectorySource | ModelFiles;

function isModelFiles(source: ModelSource): source is ModelFiles {
  return typeof source === 'object' && 'format' in source && 'tensors' in source;
}

/** Opens a {@link ModelSource} (Node paths through the loaders' node entry, loaded on demand; opened files pass through). */
export async function openSource(source: ModelSource): Promise<ModelFiles> {
  if (isModelFiles(source)) return source;
  if (typeof source === 'string') {
    // Node only: the file-system sources live behind the loaders' node entry, loaded on demand. The specifier is a
    // variable so that browser bundlers (which cannot resolve that entry: it has only a `node` condition) leave it alone.
    const nodeEntry = '@strata/loaders/node';
    const { openModelFiles } = (await import(
      /* @vite-ignore */ /* webpackIgnore: true */ nodeEntry
    )) as typeof import('@strata/loaders/node');
    return openModelFiles(source);
  }
  return openModel(source);
}

/** The model's chat template (or the caller's), with its BOS/EOS texts; undefined when the model has none. */
export function chatTemplateOf(files: ModelFiles, tokenizer: Tokenizer, explicit?: string): ChatTemplate | undefined {
  let source: string;
  try {
    source = resolveChatTemplate({
      ...(explicit === undefined ? {} : { explicit }),
      ...(files.format === 'gguf'
        ? { ggufTemplate: files.metadata.findString('tokenizer.chat_template') }
        : {
            chatTemplateJinja: files.huggingface.chatTemplate,
            tokenizerConfig: files.huggingface.tokenizerConfig ?? null,
          }),
    }).source;
  } catch (error) {
    if (StrataError.isInstance(error, 'TEMPLATE_NOT_FOUND')) return undefined;
    throw error;
  }
  const piece = (id: number | undefined) => (id === undefined ? undefined : tokenizer.tokenToPiece(id));
  const bosToken = piece(tokenizer.specialTokens.bos);
  const eosToken = piece(tokenizer.specialTokens.eos);
  return new ChatTemplate(source, {
    ...(bosToken === undefined ? {} : { bosToken }),
    ...(eosToken === undefined ? {} : { eosToken }),
  });
}

/**
 * Loads a model with its tokenizer and chat template onto `options.backend` and allocates the KV cache for
 * `options.contextLength` tokens (default 4096, capped by the model's maximum). Progress is reported as bytes and
 * tensors read.
 */
export async function loadTextPipeline(source: ModelSource, options: LoadTextPipelineOptions): Promise<TextPipeline> {
  const cacheType = checkCacheType(options.cacheType);
  const opened = await openSource(source);
  if (isEncoderOnly(opened)) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `${opened.name} is an embedding model (an encoder without a language-model head): it cannot generate text. Load it with EmbeddingPipeline.load and call embed.`,
      { details: { name: opened.name, pipeline: 'EmbeddingPipeline' } },
    );
  }
  const tokenizer = tokenizerFromModel(opened);
  const chatTemplate = chatTemplateOf(opened, tokenizer, options.chatTemplate);
  const tracked = options.onProgress === undefined ? undefined : trackProgress(opened.tensors, options.onProgress);
  const files: ModelFiles = tracked === undefined ? opened : { ...opened, tensors: tracked.store };
  // The model is built on the scoped backend its steps run in, so that embedding and lm head are scoped too.
  const backend = createScopedBackend(options.backend);
  const model = await loadModel(files, backend, {
    contextLength: options.contextLength,
    registry: options.registry,
  });
  tracked?.finish();
  return TextPipeline.fromParts({
    model,
    backend,
    tokenizer,
    chatTemplate,
    maxContextLength: model.config.contextLength,
    contextLength: options.contextLength,
    chunkSize: options.chunkSize,
    cacheType,
    ...(options.capturedDecode === undefined ? {} : { capturedDecode: options.capturedDecode }),
    ...(options.decodeAhead === undefined ? {} : { decodeAhead: options.decodeAhead }),
    hooks: options.hooks,
    onDispose: () => model.dispose(),
  });
}
