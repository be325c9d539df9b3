import { StrataError } from '@strata/core';
import type { ModelFiles } from '../model-files.js';
import { tokenizerFromGguf } from './gguf-tokenizer.js';
import { type GenerationConfigJson, type TokenizerConfigJson, tokenizerFromJson } from './json-tokenizer.js';
import type { Tokenizer } from './tokenizer.js';

/**
 * The tokenizer of an opened model: from the GGUF metadata, or from the directory's `tokenizer.json` with its
 * `tokenizer_config.json` and `generation_config.json`. Raises `MISSING_METADATA` when a directory has no
 * `tokenizer.json`.
 */
export function tokenizerFromModel(files: ModelFiles): Tokenizer {
  if (files.format === 'gguf') return tokenizerFromGguf(files.metadata);
  const { tokenizer, tokenizerConfig, generationConfig } = files.huggingface;
  if (tokenizer === undefined) {
    throw new StrataError('MISSING_METADATA', `${files.name} has no tokenizer.json; add it next to config.json`, {
      details: { name: files.name },
    });
  }
  return tokenizerFromJson(
    tokenizer,
    (tokenizerConfig ?? {}) as TokenizerConfigJson,
    (generationConfig ?? {}) as GenerationConfigJson,
  );
}
