import { StrataError } from '@strata/core';
import { JsonShape } from './json-shape.js';

/**
 * How many ids above the number of distinct tokens a vocabulary may reach (unused ids left between the model's tokens
 * and its added tokens). Past it, an id is taken as hostile: tables indexed by id never grow beyond a small multiple
 * of the file's own size.
 */
const UNUSED_ID_ALLOWANCE = 1024;

/** Deepest nesting of `Sequence` components (normalizers, pre-tokenizers, decoders, post-processors) accepted. */
const MAX_COMPONENT_DEPTH = 16;

const FILE = 'tokenizer.json';

/** What the checks learned about a `tokenizer.json`. */
export interface CheckedTokenizerJson {
  /** Number of distinct token ids (model vocabulary and added tokens). */
  readonly distinctIds: number;
  /** One more than the largest id: the vocabulary size the model's embedding must match. */
  readonly vocabularySize: number;
}

/**
 * Checks the shape of a parsed `tokenizer.json` before anything reads it: the model's vocabulary (ids are
 * non-negative integers within the vocabulary's real size), merges, added tokens, and the structure of the
 * normalizer, pre-tokenizer, post-processor and decoder. Raises `TOKENIZER_ERROR` naming the JSON path on a mismatch.
 */
export function checkTokenizerJson(json: unknown): CheckedTokenizerJson {
  const root = JsonShape.root(json, FILE, 'TOKENIZER_ERROR');
  root.object();
  const model = root.field('model');
  model.object();
  const ids = new Set<number>();
  const pieces = new Set<string>();
  let largest = -1;
  const note = (id: number) => {
    ids.add(id);
    if (id > largest) largest = id;
  };
  const vocabulary = model.field('vocab');
  const type = model.field('type').optional((shape) => shape.string());
  const unigram = vocabulary.value;
  if (Array.isArray(unigram)) {
    // Unigram: [piece, score] pairs, the id being the position.
    unigram.forEach((entry, index) => {
      if (!Array.isArray(entry) || typeof entry[0] !== 'string' || typeof entry[1] !== 'number') {
        throw new JsonShape(entry, `${vocabulary.path}[${index}]`, FILE, 'TOKENIZER_ERROR').fail(
          'a [piece, score] pair',
        );
      }
      note(index);
      pieces.add(entry[0]);
    });
    model.field('unk_id').optional((shape) => {
      const id = shape.index();
      if (id >= unigram.length) throw shape.fail(`an id below the vocabulary's ${unigram.length} pieces`);
      return id;
    });
  } else if (!vocabulary.absent || type !== undefined) {
    const record = vocabulary.object();
    for (const key in record) {
      const id = record[key];
      if (typeof id !== 'number' || !Number.isSafeInteger(id) || id < 0) {
        throw new JsonShape(id, `${vocabulary.path}[${JSON.stringify(key)}]`, FILE, 'TOKENIZER_ERROR').fail(
          'a non-negative integer id',
        );
      }
      note(id);
      pieces.add(key);
    }
  }
  const merges = model.field('merges');
  if (!merges.absent) {
    if (!Array.isArray(merges.value)) throw merges.fail('an array of merges');
    merges.value.forEach((merge, index) => {
      const pair = Array.isArray(merge) && merge.length === 2 && merge.every((part) => typeof part === 'string');
      if (typeof merge !== 'string' && !pair) {
        throw new JsonShape(merge, `${merges.path}[${index}]`, FILE, 'TOKENIZER_ERROR').fail(
          'a merge ("a b" or ["a", "b"])',
        );
      }
    });
  }
  const unknownToken = model.field('unk_token');
  model.field('continuing_subword_prefix').optional((shape) => shape.string());
  model.field('end_of_word_suffix').optional((shape) => shape.string());

  const addedTokens = root.field('added_tokens');
  const added = addedTokens.absent ? [] : addedTokens.elements();
  for (const token of added) {
    const id = token.field('id').index();
    pieces.add(token.field('content').string());
    for (const flag of ['special', 'lstrip', 'rstrip', 'normalized', 'single_word']) {
      token.field(flag).optional((shape) => shape.boolean());
    }
    note(id);
  }

  // Text the vocabulary cannot cover encodes as the unknown token: it must be a piece of the vocabulary.
  unknownToken.optional((shape) => {
    if (!pieces.has(shape.string())) throw shape.fail('a token of the vocabulary');
  });
  const limit = ids.size + UNUSED_ID_ALLOWANCE;
  if (largest >= limit) {
    throw new StrataError(
      'TOKENIZER_ERROR',
      `tokenizer.json: token id ${largest} is past the vocabulary's real size (${ids.size} distinct tokens, so ids ` +
        `below ${limit}); the file is malformed or hostile, re-export it`,
      { details: { file: FILE, id: largest, distinctIds: ids.size } },
    );
  }
  for (const key of ['normalizer', 'pre_tokenizer', 'decoder']) {
    checkComponent(
      root.field(key),
      key === 'normalizer' ? 'normalizers' : key === 'decoder' ? 'decoders' : 'pretokenizers',
      0,
    );
  }
  // A post-processor adds ids to every encoding: they must be ids the vocabulary has.
  checkPostProcessor(root.field('post_processor'), { limit: largest + 1, pieces }, 0);
  return { distinctIds: ids.size, vocabularySize: largest + 1 };
}

/** A normalizer, pre-tokenizer or decoder: null, or an object with a string `type`; `Sequence` children recursed. */
function checkComponent(shape: JsonShape, childrenKey: string, depth: number): void {
  if (shape.absent) return;
  if (depth > MAX_COMPONENT_DEPTH) throw shape.fail(`nested at most ${MAX_COMPONENT_DEPTH} Sequences deep`);
  const type = shape.field('type').string();
  if (type === 'Sequence') {
    for (const child of shape.field(childrenKey).elements()) checkComponent(child, childrenKey, depth + 1);
  }
}

/** A `[token, id]` pair of Bert/Roberta processing. */
function checkTokenPair(shape: JsonShape, vocabulary: KnownVocabulary): void {
  const [token, id] = shape.elements();
  if (token === undefined || id === undefined) throw shape.fail('a [token, id] pair');
  checkPiece(token, vocabulary);
  if (id.index() >= vocabulary.limit) throw id.fail(`an id below ${vocabulary.limit}`);
}

/** What a post-processor may refer to: ids below `limit`, and the pieces of the vocabulary. */
interface KnownVocabulary {
  readonly limit: number;
  readonly pieces: ReadonlySet<string>;
}

/** A token text a post-processor adds: it must be a piece of the vocabulary, or encoding would yield no id. */
function checkPiece(shape: JsonShape, vocabulary: KnownVocabulary): void {
  if (!vocabulary.pieces.has(shape.string())) throw shape.fail('a token of the vocabulary');
}

/** A post-processor as `@huggingface/tokenizers` reads it. */
function checkPostProcessor(shape: JsonShape, vocabulary: KnownVocabulary, depth: number): void {
  if (shape.absent) return;
  if (depth > MAX_COMPONENT_DEPTH) throw shape.fail(`nested at most ${MAX_COMPONENT_DEPTH} Sequences deep`);
  const type = shape.field('type').string();
  switch (type) {
    case 'TemplateProcessing': {
      for (const key of ['single', 'pair']) {
        const template = shape.field(key);
        if (key === 'pair' && template.absent) continue;
        for (const piece of template.elements()) {
          const special = piece.field('SpecialToken');
          const sequence = piece.field('Sequence');
          if (!special.absent) {
            checkPiece(special.field('id'), vocabulary);
            special.field('type_id').index();
          } else if (!sequence.absent) {
            const id = sequence.field('id').string();
            if (id !== 'A' && id !== 'B') throw sequence.field('id').fail('"A" or "B"');
            sequence.field('type_id').index();
          } else throw piece.fail('a {"SpecialToken": …} or {"Sequence": …} piece');
        }
      }
      const specials = shape.field('special_tokens');
      if (!specials.absent) {
        for (const [, special] of specials.entries()) {
          special.field('id').string();
          for (const id of special.field('ids').elements()) {
            if (id.index() >= vocabulary.limit) throw id.fail(`an id below ${vocabulary.limit}`);
          }
          for (const token of special.field('tokens').elements()) token.string();
        }
      }
      return;
    }
    case 'BertProcessing':
    case 'RobertaProcessing':
      checkTokenPair(shape.field('sep'), vocabulary);
      checkTokenPair(shape.field('cls'), vocabulary);
      return;
    case 'ByteLevel':
      return;
    case 'Sequence':
      for (const child of shape.field('processors').elements()) checkPostProcessor(child, vocabulary, depth + 1);
      return;
    default:
      throw shape.field('type').fail('TemplateProcessing, BertProcessing, RobertaProcessing, ByteLevel or Sequence');
  }
}

/** A special token field of `tokenizer_config.json`: absent, a string, or an AddedToken object with `content`. */
function checkSpecialToken(shape: JsonShape): void {
  if (shape.absent || typeof shape.value === 'string') return;
  shape.field('content').string();
}

/** Checks the fields of `tokenizer_config.json` that the tokenizer reads; raises `TOKENIZER_ERROR` on a mismatch. */
export function checkTokenizerConfig(config: unknown): void {
  const root = JsonShape.root(config, 'tokenizer_config.json', 'TOKENIZER_ERROR');
  root.object();
  for (const key of ['bos_token', 'eos_token', 'unk_token', 'pad_token', 'sep_token', 'mask_token']) {
    checkSpecialToken(root.field(key));
  }
  for (const key of ['add_bos_token', 'add_eos_token', 'clean_up_tokenization_spaces']) {
    root.field(key).optional((shape) => shape.boolean());
  }
}

/** The end-of-sequence ids of `generation_config.json` (one id or a list); raises `TOKENIZER_ERROR` on a mismatch. */
export function checkGenerationConfig(config: unknown): readonly number[] {
  const root = JsonShape.root(config, 'generation_config.json', 'TOKENIZER_ERROR');
  root.object();
  const eos = root.field('eos_token_id');
  if (eos.absent) return [];
  if (Array.isArray(eos.value)) return eos.elements().map((id) => id.index());
  if (typeof eos.value !== 'number') throw eos.fail('a token id or a list of token ids');
  return [eos.index()];
}
