import { StrataError } from '@strata/core';
import type { DirectorySource } from '../byte-source/directory-source.js';
import { openSafetensors, type SafetensorsFile } from '../safetensors/safetensors.js';
import { openSafetensorsIndex, type SafetensorsIndex } from '../safetensors/safetensors-index.js';
import type { TensorStore } from '../tensor-store.js';

/** A JSON value. */
export type JsonValue = null | boolean | number | string | readonly JsonValue[] | JsonObject;
/** A JSON object. */
export interface JsonObject {
  /** Member values by key. */
  readonly [key: string]: JsonValue;
}

/** The files of a Hugging Face model directory, parsed but not interpreted (normalising configs is the models' job). */
export interface HuggingFaceDirectory {
  /** The directory read. */
  readonly directory: DirectorySource;
  /** `config.json`. */
  readonly config: JsonObject;
  /** `generation_config.json`, when present. */
  readonly generationConfig: JsonObject | undefined;
  /** `tokenizer.json`, when present. */
  readonly tokenizer: JsonObject | undefined;
  /** `tokenizer_config.json`, when present. */
  readonly tokenizerConfig: JsonObject | undefined;
  /**
   * The chat template: `chat_template.jinja`, else the `chat_template` string of `chat_template.json`, else that of
   * `tokenizer_config.json`; undefined when none has one.
   */
  readonly chatTemplate: string | undefined;
  /** The safetensors files (one file, or the shards of `model.safetensors.index.json`). */
  readonly safetensors: SafetensorsFile;
  /** The shard index, for sharded models. */
  readonly safetensorsIndex: SafetensorsIndex | undefined;
  /** The tensors of every safetensors file. */
  readonly tensors: TensorStore;
}

async function readJson(directory: DirectorySource, name: string): Promise<JsonObject | undefined> {
  const text = await directory.readText(name);
  if (text === undefined) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new StrataError('INVALID_CONFIG', `${directory.name}/${name} is not valid JSON; download it again.`, {
      cause,
      details: { file: name },
    });
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new StrataError('INVALID_CONFIG', `${directory.name}/${name} is not a JSON object.`, {
      details: { file: name },
    });
  }
  return value as JsonObject;
}

/**
 * Opens a Hugging Face model directory: `config.json` (required), the generation and tokenizer files, the chat template,
 * and the safetensors weights (`model.safetensors.index.json` with its shards, else every `*.safetensors` file).
 */
export async function openHuggingFaceDirectory(directory: DirectorySource): Promise<HuggingFaceDirectory> {
  const config = await readJson(directory, 'config.json');
  if (config === undefined) {
    throw new StrataError(
      'INVALID_FILE',
      `${directory.name} has no config.json; it is not a Hugging Face model directory.`,
      { details: { directory: directory.name } },
    );
  }
  const [generationConfig, tokenizer, tokenizerConfig, chatTemplateJson, chatTemplateText] = await Promise.all([
    readJson(directory, 'generation_config.json'),
    readJson(directory, 'tokenizer.json'),
    readJson(directory, 'tokenizer_config.json'),
    readJson(directory, 'chat_template.json'),
    directory.readText('chat_template.jinja'),
  ]);
  const templateOf = (object: JsonObject | undefined) =>
    typeof object?.chat_template === 'string' ? object.chat_template : undefined;
  const chatTemplate = chatTemplateText ?? templateOf(chatTemplateJson) ?? templateOf(tokenizerConfig);

  const files = await directory.list();
  let safetensors: SafetensorsFile;
  let safetensorsIndex: SafetensorsIndex | undefined;
  if (files.includes('model.safetensors.index.json')) {
    const opened = await openSafetensorsIndex(directory);
    safetensors = opened;
    safetensorsIndex = opened.index;
  } else {
    const names = files.filter((name) => name.endsWith('.safetensors')).sort();
    if (names.length === 0) {
      throw new StrataError(
        'INVALID_FILE',
        `${directory.name} has no .safetensors weights (only ${files.length} other files).`,
        { details: { directory: directory.name } },
      );
    }
    const sources = [];
    for (const name of names) {
      const source = await directory.open(name);
      if (source !== undefined) sources.push(source);
    }
    safetensors = await openSafetensors(sources);
  }
  return {
    directory,
    config,
    generationConfig,
    tokenizer,
    tokenizerConfig,
    chatTemplate,
    safetensors,
    safetensorsIndex,
    tensors: safetensors.tensors,
  };
}
