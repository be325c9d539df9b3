import { StrataError } from '@strata/core';
import {
  type TokenizerMetadata,
  optionalBoolean,
  optionalInteger,
  optionalNumberArray,
  optionalString,
  optionalStringArray,
} from './metadata-values.js';
import { type PreTokenizerSpec, preTokenizerSpec } from './pre-tokenizers.js';
import type { SpecialTokenIds } from './tokenizer.js';
import { TokenAttribute, attributeOfTokenType } from './vocabulary.js';

/** The `tokenizer.ggml.model` values this package reads. */
export const SUPPORTED_GGUF_TOKENIZERS = ['llama', 'gpt2', 'bert'] as const;

/** One of {@link SUPPORTED_GGUF_TOKENIZERS}. */
export type GgufTokenizerModel = (typeof SUPPORTED_GGUF_TOKENIZERS)[number];

/** Everything the GGUF tokenizer needs, read and defaulted once from the metadata. */
export interface GgufVocabulary {
  /** `tokenizer.ggml.model`: SentencePiece-style (`llama`), byte-level BPE (`gpt2`) or WordPiece (`bert`). */
  readonly model: GgufTokenizerModel;
  /** The pre-tokenizer (gpt2 only). */
  readonly preTokenizer: PreTokenizerSpec | undefined;
  /** Token text by id (`tokenizer.ggml.tokens`). */
  readonly tokens: readonly string[];
  /** Id of each token text (the first id where a text repeats). */
  readonly tokenIds: ReadonlyMap<string, number>;
  /** Score per id (`tokenizer.ggml.scores`, all 0 when absent); the llama tokenizer merges by it. */
  readonly scores: ArrayLike<number>;
  /** {@link TokenAttribute} flags per id. */
  readonly attributes: Uint16Array;
  /** Merge rank of `"left right"` (gpt2 only). */
  readonly ranks: ReadonlyMap<string, number>;
  /** Special ids, from the metadata or the model's defaults; undefined where the vocabulary has none. */
  readonly special: SpecialTokenIds;
  /** Ids that end generation: EOS, EOT, EOM and known end-of-turn / fill-in-the-middle tokens. */
  readonly endOfGeneration: ReadonlySet<number>;
  /** Prepend BOS when encoding (`tokenizer.ggml.add_bos_token`, else the model's default). */
  readonly addBos: boolean;
  /** Append EOS when encoding (`tokenizer.ggml.add_eos_token`). */
  readonly addEos: boolean;
  /** Prepend a space to the text before encoding (SentencePiece; `tokenizer.ggml.add_space_prefix`). */
  readonly addSpacePrefix: boolean;
  /** BERT normalization. */
  readonly lowercase: boolean;
  /** BERT normalization: remove combining marks after NFD (defaults to `lowercase`). */
  readonly stripAccents: boolean;
  /** Longest token in UTF-16 units. */
  readonly maximumTokenLength: number;
}

const END_OF_TURN = [
  '<|eot_id|>',
  '<|im_end|>',
  '<|end|>',
  '<end_of_turn>',
  '<|endoftext|>',
  '<|end_of_text|>',
  '<EOT>',
  '_<EOT>',
  '[EOT]',
  '<｜end▁of▁sentence｜>',
  '<end_of_utterance>',
];
const END_OF_GENERATION = [
  '<|eot_id|>',
  '<|im_end|>',
  '<|end|>',
  '<|return|>',
  '<|call|>',
  '<|flush|>',
  '<|calls|>',
  '<end_of_turn>',
  '<|endoftext|>',
  '</s>',
  '<|eom_id|>',
  '<EOT>',
  '_<EOT>',
  '[EOT]',
  '[EOS]',
  '<|end_of_text|>',
  '<end_of_utterance>',
  '<eos>',
  '<turn|>',
  '<|tool_response>',
  '<｜end▁of▁sentence｜>',
  '[e~[',
];
const FIM_PAD = ['<|fim_pad|>', '<fim-pad>', '<fim_pad>', '<PAD>', '[PAD]'];
const FIM_REPO = ['<|fim_repo|>', '<|repo_name|>', '<fim-repo>', '<REPO>', '<reponame>'];
const FIM_SEPARATOR = ['<|file_sep|>'];

function missing(key: string): StrataError {
  return new StrataError('MISSING_METADATA', `GGUF has no '${key}': the file carries no tokenizer`, {
    details: { key },
  });
}

/** Reads the tokenizer metadata of a GGUF file (the `tokenizer.ggml.*` keys) the way llama.cpp's loader does. */
export function readGgufVocabulary(metadata: TokenizerMetadata): GgufVocabulary {
  const modelName = optionalString(metadata, 'tokenizer.ggml.model');
  if (modelName === undefined) throw missing('tokenizer.ggml.model');
  if (!(SUPPORTED_GGUF_TOKENIZERS as readonly string[]).includes(modelName)) {
    throw new StrataError(
      'UNKNOWN_TOKENIZER',
      `unknown tokenizer.ggml.model '${modelName}'; supported: ${SUPPORTED_GGUF_TOKENIZERS.join(', ')}`,
      { details: { model: modelName, supported: [...SUPPORTED_GGUF_TOKENIZERS] } },
    );
  }
  const model = modelName as GgufTokenizerModel;
  const tokens = optionalStringArray(metadata, 'tokenizer.ggml.tokens');
  if (tokens === undefined) throw missing('tokenizer.ggml.tokens');
  const count = tokens.length;
  const scores = optionalNumberArray(metadata, 'tokenizer.ggml.scores') ?? new Float32Array(count);
  const types = optionalNumberArray(metadata, 'tokenizer.ggml.token_type');
  if (scores.length < count || (types !== undefined && types.length < count)) {
    throw new StrataError(
      'INVALID_METADATA',
      'tokenizer.ggml.scores or token_type is shorter than tokenizer.ggml.tokens',
    );
  }

  const attributes = new Uint16Array(count);
  const tokenIds = new Map<string, number>();
  let maximumTokenLength = 0;
  for (let id = 0; id < count; id++) {
    const text = tokens[id] as string;
    if (!tokenIds.has(text)) tokenIds.set(text, id);
    maximumTokenLength = Math.max(maximumTokenLength, text.length);
    attributes[id] = types === undefined ? TokenAttribute.normal : attributeOfTokenType(types[id] as number);
  }

  let preTokenizer: PreTokenizerSpec | undefined;
  const ranks = new Map<string, number>();
  // Defaults per model, as llama.cpp sets them before reading the keys.
  const ids = { bos: 1, eos: 2, eot: -1, eom: -1, unknown: 0, separator: -1, padding: -1, mask: -1 } as Record<
    string,
    number
  >;
  let addBos = false;
  let addEos = false;
  let addSpacePrefix = false;
  if (model === 'llama') {
    addBos = true;
    addSpacePrefix = true;
  } else if (model === 'bert') {
    Object.assign(ids, { bos: 101, eos: -1, unknown: 100, separator: 102, padding: 0, mask: 103 });
    addBos = true;
  } else {
    preTokenizer = preTokenizerSpec(optionalString(metadata, 'tokenizer.ggml.pre'));
    const merges = optionalStringArray(metadata, 'tokenizer.ggml.merges');
    if (merges === undefined) throw missing('tokenizer.ggml.merges');
    merges.forEach((merge, rank) => {
      if (!ranks.has(merge)) ranks.set(merge, rank);
    });
    Object.assign(ids, { bos: 11, eos: 11, unknown: -1 });
    if (preTokenizer.noBos) ids.bos = -1;
    addBos = preTokenizer.addBos ?? false;
  }
  addSpacePrefix = optionalBoolean(metadata, 'tokenizer.ggml.add_space_prefix') ?? addSpacePrefix;

  const keys: Record<string, string> = {
    bos: 'tokenizer.ggml.bos_token_id',
    eos: 'tokenizer.ggml.eos_token_id',
    eot: 'tokenizer.ggml.eot_token_id',
    eom: 'tokenizer.ggml.eom_token_id',
    unknown: 'tokenizer.ggml.unknown_token_id',
    separator: 'tokenizer.ggml.seperator_token_id',
    padding: 'tokenizer.ggml.padding_token_id',
    mask: 'tokenizer.ggml.mask_token_id',
  };
  for (const [name, key] of Object.entries(keys)) {
    if ((ids[name] as number) >= count) ids[name] = -1;
    const value = optionalInteger(metadata, key);
    if (value !== undefined && value >= 0 && value < count) ids[name] = value;
  }
  // Older BERT conversions name the class token only by tokenizer.ggml.cls_token_id; it plays BOS's part.
  const classId = optionalInteger(metadata, 'tokenizer.ggml.cls_token_id');
  if (model === 'bert' && optionalInteger(metadata, keys.bos as string) === undefined && classId !== undefined) {
    if (classId >= 0 && classId < count) ids.bos = classId;
  }
  addBos = optionalBoolean(metadata, 'tokenizer.ggml.add_bos_token') ?? addBos;
  addEos = optionalBoolean(metadata, 'tokenizer.ggml.add_eos_token') ?? addEos;
  const lowercase = optionalBoolean(metadata, 'tokenizer.ggml.normalizer.lowercase') ?? model === 'bert';
  const stripAccents = optionalBoolean(metadata, 'tokenizer.ggml.normalizer.strip_accents') ?? lowercase;

  // Tokens recognised by their text: they end turns or generation, and are control tokens whatever the file says.
  const markControl = (id: number) => {
    attributes[id] = (attributes[id] as number) | TokenAttribute.control;
  };
  const firstPresent = (candidates: readonly string[]) => {
    for (const text of candidates) {
      const id = tokenIds.get(text);
      if (id !== undefined) return id;
    }
    return -1;
  };
  if (ids.eot === -1) ids.eot = firstPresent(END_OF_TURN);
  if (ids.eom === -1) ids.eom = firstPresent(['<|eom_id|>']);
  const endOfGeneration = new Set<number>();
  for (const list of [FIM_PAD, FIM_REPO, FIM_SEPARATOR]) {
    const id = firstPresent(list);
    if (id >= 0) {
      endOfGeneration.add(id);
      markControl(id);
    }
  }
  for (const id of [ids.eot, ids.eom]) if ((id as number) >= 0) markControl(id as number);
  for (const text of END_OF_GENERATION) {
    const id = tokenIds.get(text);
    if (id === undefined) continue;
    endOfGeneration.add(id);
    markControl(id);
  }
  for (const [text, id] of tokenIds) {
    const attribute = attributes[id] as number;
    if (attribute & TokenAttribute.control && text.includes('unused'))
      attributes[id] = attribute | TokenAttribute.unused;
  }
  for (const text of ['<|channel|>', '<|message|>', '<|start|>', '<|constrain|>']) {
    const id = tokenIds.get(text);
    if (id !== undefined) attributes[id] = TokenAttribute.userDefined;
  }
  for (const name of ['eos', 'eot', 'eom']) if ((ids[name] as number) >= 0) endOfGeneration.add(ids[name] as number);
  const has = (text: string) => {
    const id = tokenIds.get(text);
    return id !== undefined && endOfGeneration.has(id);
  };
  if (has('<|end|>') && ((has('<|return|>') && has('<|call|>')) || (has('<|calls|>') && has('<|flush|>')))) {
    const id = tokenIds.get('<|end|>') as number;
    endOfGeneration.delete(id);
    attributes[id] = TokenAttribute.userDefined;
  }
  if (has('<|tool_response>') && has('</s>')) {
    const id = tokenIds.get('</s>') as number;
    endOfGeneration.delete(id);
    attributes[id] = TokenAttribute.normal;
  }
  applyModelQuirks(metadata, tokenIds, attributes);

  const special = (name: string) => ((ids[name] as number) >= 0 ? ids[name] : undefined);
  return {
    model,
    preTokenizer,
    tokens,
    tokenIds,
    scores,
    attributes,
    ranks,
    special: {
      bos: special('bos'),
      eos: special('eos'),
      eot: special('eot'),
      eom: special('eom'),
      unknown: special('unknown'),
      padding: special('padding'),
      separator: special('separator'),
      mask: special('mask'),
    },
    endOfGeneration,
    addBos,
    addEos,
    addSpacePrefix,
    lowercase,
    stripAccents,
    maximumTokenLength,
  };
}

/** Per-model token attributes llama.cpp sets by name (GGUF does not store them): Phi-3 strips space after specials. */
function applyModelQuirks(
  metadata: TokenizerMetadata,
  tokenIds: ReadonlyMap<string, number>,
  attributes: Uint16Array,
): void {
  const name = (optionalString(metadata, 'general.name') ?? '').toLowerCase();
  if (!name.includes('phi-3') && !name.includes('phi3')) return;
  const specialMask = TokenAttribute.control | TokenAttribute.userDefined | TokenAttribute.unknown;
  for (let id = 0; id < attributes.length; id++) {
    if ((attributes[id] as number) & specialMask)
      attributes[id] = (attributes[id] as number) | TokenAttribute.rightStrip;
  }
  const set = (text: string, on: boolean) => {
    const id = tokenIds.get(text);
    if (id === undefined) return;
    const value = attributes[id] as number;
    attributes[id] = on ? value | TokenAttribute.rightStrip : value & ~TokenAttribute.rightStrip;
  };
  set('</s>', true);
  for (const text of ['<unk>', '<s>', '<|endoftext|>']) set(text, false);
}
