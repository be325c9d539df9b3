import { stat } from 'node:fs/promises';
import { StrataError } from '@strata/core';
import { type ModelFiles, openModel } from '../model-files.js';
import { directorySource } from './file-source.js';
import { openGgufFile } from './gguf-files.js';

/**
 * Opens a local model: a GGUF file (every shard when given the first of a split model) or a Hugging Face directory.
 */
export async function openModelFiles(path: string): Promise<ModelFiles> {
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(path)).isDirectory();
  } catch (cause) {
    throw new StrataError('IO_ERROR', `Cannot open ${path}: it does not exist or is not readable.`, {
      cause,
      details: { path },
    });
  }
  if (isDirectory) return openModel(directorySource(path));
  if (/\.(safetensors|json|jinja)$/.test(path)) {
    throw new StrataError(
      'INVALID_FILE',
      `${path} is part of a Hugging Face model: pass its directory (or a .gguf file) to openModelFiles.`,
      {
        details: { path },
      },
    );
  }
  const gguf = await openGgufFile(path);
  return {
    format: 'gguf',
    name: path,
    gguf,
    metadata: gguf.metadata,
    architecture: gguf.architecture,
    tensors: gguf.tensors,
  };
}
