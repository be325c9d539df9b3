import { StrataError } from '@strata/core';
import type { DirectorySource } from '@strata/loaders';
import type { EmbeddingPooling } from '../model/capabilities.js';

/** What a sentence-transformers folder says about its embeddings (each field only where the folder states it). */
export interface SentenceTransformersSettings {
  /** From the Pooling module's `config.json`. */
  readonly pooling?: EmbeddingPooling;
  /** True when `modules.json` lists a Normalize module. */
  readonly normalize?: boolean;
  /** `max_seq_length` of `sentence_bert_config.json`, else `model_max_length` of `tokenizer_config.json`. */
  readonly maximumLength?: number;
}

async function readJson(directory: DirectorySource, name: string): Promise<unknown> {
  const text = await directory.readText(name);
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (cause) {
    throw new StrataError('INVALID_CONFIG', `${directory.name}/${name} is not valid JSON.`, { cause });
  }
}

type Json = Record<string, unknown>;

/** The pooling a Pooling module's config selects (old `pooling_mode_*_token(s)` flags or the newer `pooling_mode`). */
function poolingOf(config: Json, where: string): EmbeddingPooling {
  const mode = config.pooling_mode;
  if (config.pooling_mode_mean_tokens === true || mode === 'mean') return 'mean';
  if (config.pooling_mode_cls_token === true || mode === 'cls') return 'cls';
  if (config.pooling_mode_lasttoken === true || mode === 'lasttoken') return 'last';
  throw new StrataError(
    'INVALID_CONFIG',
    `${where} selects a pooling strata does not run (only mean, cls and lasttoken are supported).`,
    { details: { config } },
  );
}

/**
 * Reads the sentence-transformers files of a model directory: `modules.json` (a module whose type ends in `Pooling`, one
 * ending in `Normalize`), the Pooling module's `config.json`, and the maximum length from `sentence_bert_config.json`
 * (`max_seq_length`) or, as sentence-transformers 6 saves it, `tokenizer_config.json` (`model_max_length`). A directory
 * without `modules.json` gives no settings.
 */
export async function readSentenceTransformersSettings(
  directory: DirectorySource,
): Promise<SentenceTransformersSettings> {
  const modules = await readJson(directory, 'modules.json');
  if (modules === undefined) return {};
  if (!Array.isArray(modules)) {
    throw new StrataError('INVALID_CONFIG', `${directory.name}/modules.json is not a list of modules.`);
  }
  const typed = modules.filter((entry): entry is Json => typeof entry === 'object' && entry !== null);
  const typeOf = (entry: Json) => (typeof entry.type === 'string' ? entry.type : '');
  const poolingModule = typed.find((entry) => typeOf(entry).endsWith('Pooling'));
  let pooling: EmbeddingPooling | undefined;
  if (poolingModule !== undefined) {
    const path = typeof poolingModule.path === 'string' ? poolingModule.path : '';
    const name = path === '' ? 'config.json' : `${path}/config.json`;
    const config = await readJson(directory, name);
    if (typeof config !== 'object' || config === null) {
      throw new StrataError('INVALID_CONFIG', `${directory.name}/${name} (the Pooling module's config) is missing.`);
    }
    pooling = poolingOf(config as Json, `${directory.name}/${name}`);
  }
  const normalize = typed.some((entry) => typeOf(entry).endsWith('Normalize'));
  // sentence-transformers < 6 writes max_seq_length into sentence_bert_config.json; 6 writes it into the tokenizer's
  // model_max_length.
  const bertConfig = await readJson(directory, 'sentence_bert_config.json');
  const tokenizerConfig = await readJson(directory, 'tokenizer_config.json');
  const field = (object: unknown, key: string) =>
    typeof object === 'object' && object !== null ? (object as Json)[key] : undefined;
  const maximum = [field(bertConfig, 'max_seq_length'), field(tokenizerConfig, 'model_max_length')].find(
    (value): value is number => typeof value === 'number' && Number.isInteger(value) && value > 0 && value < 2 ** 31,
  );
  return {
    ...(pooling === undefined ? {} : { pooling }),
    normalize,
    ...(maximum === undefined ? {} : { maximumLength: maximum }),
  };
}
