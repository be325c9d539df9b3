import { Tokenizer as HuggingFaceTokenizer } from '@huggingface/tokenizers';
import { StrataError } from '@strata/core';
import { checkTokenId } from './vocabulary.js';
import { compatibleTokenizerJson } from './json-compatibility.js';
import { parseJsonText } from './json-shape.js';
import { checkGenerationConfig, checkTokenizerConfig, checkTokenizerJson } from './tokenizer-json-schema.js';
import { ByteStreamDecoder } from './stream-decoder.js';
import type {
  DecodeOptions,
  EncodeOptions,
  SpecialTokenIds,
  StreamDecoder,
  StreamDecoderOptions,
  Tokenizer,
} from './tokenizer.js';
import { fromByteLevel, pushUtf8 } from './unicode.js';

/** The parts of a Hugging Face `tokenizer.json` this module reads itself (the rest goes to `@huggingface/tokenizers`). */
interface TokenizerJson {
  readonly added_tokens?: readonly { readonly id: number; readonly content: string; readonly special?: boolean }[];
  readonly decoder?: unknown;
  readonly model?: { readonly type?: string };
}

/** The parts of `tokenizer_config.json` read here. */
export interface TokenizerConfigJson {
  /** Beginning-of-sequence token text (a string or an AddedToken object). */
  readonly bos_token?: string | { readonly content: string } | null;
  /** End-of-sequence token text; its id ends generation. */
  readonly eos_token?: string | { readonly content: string } | null;
  /** Unknown-token text. */
  readonly unk_token?: string | { readonly content: string } | null;
  /** Padding token text. */
  readonly pad_token?: string | { readonly content: string } | null;
  /** Separator token text (BERT's `[SEP]`). */
  readonly sep_token?: string | { readonly content: string } | null;
  /** Mask token text (BERT's `[MASK]`). */
  readonly mask_token?: string | { readonly content: string } | null;
  /** Prepend BOS when encoding; when absent, whether the tokenizer's post-processor already prefixes BOS. */
  readonly add_bos_token?: boolean;
  /** Append EOS when encoding. */
  readonly add_eos_token?: boolean;
  /** Undo spaces before punctuation when decoding (transformers' clean-up); default false. */
  readonly clean_up_tokenization_spaces?: boolean;
  /** Keys not read here (chat_template, model_max_length, …). */
  readonly [key: string]: unknown;
}

/** The part of `generation_config.json` read here: its end-of-sequence ids end generation too. */
export interface GenerationConfigJson {
  /** One id or several; each ends generation besides the tokenizer's own EOS. */
  readonly eos_token_id?: number | readonly number[] | null;
  /** Keys not read here (sampling defaults, …). */
  readonly [key: string]: unknown;
}

const END_OF_TURN = [
  '<|eot_id|>',
  '<|im_end|>',
  '<|end|>',
  '<end_of_turn>',
  '<|endoftext|>',
  '<|end_of_text|>',
  '<EOT>',
];
const END_OF_GENERATION = [...END_OF_TURN, '<|eom_id|>', '<|return|>', '<|call|>', '</s>', '<eos>'];
const HEX_BYTE = /^<0x([0-9A-Fa-f]{2})>$/;

/** Decoder component types found anywhere in a `tokenizer.json` decoder (Sequence flattened). */
function decoderTypes(decoder: unknown): Set<string> {
  const types = new Set<string>();
  const visit = (node: unknown) => {
    if (typeof node !== 'object' || node === null) return;
    const record = node as { type?: unknown; decoders?: unknown };
    if (typeof record.type === 'string') types.add(record.type);
    if (Array.isArray(record.decoders)) for (const child of record.decoders) visit(child);
  };
  visit(decoder);
  return types;
}

function tokenContent(value: string | { readonly content: string } | null | undefined): string | undefined {
  if (value === null || value === undefined) return undefined;
  return typeof value === 'string' ? value : value.content;
}

/**
 * Builds a tokenizer from a Hugging Face `tokenizer.json` (object or JSON text), with its `tokenizer_config.json` for
 * the special tokens and, optionally, `generation_config.json` for extra end-of-generation ids. Encoding and decoding
 * run on `@huggingface/tokenizers` (normalizers, pre-tokenizers, BPE/WordPiece/Unigram models, post-processors and
 * decoders as the file declares); special tokens, streaming and piece bytes are handled here. The three files are
 * untrusted: their shapes are checked first (token ids against the vocabulary's real size), and every failure, of the
 * checks or of the library, is a `TOKENIZER_ERROR` naming what is wrong.
 */
export function tokenizerFromJson(
  tokenizerJson: unknown,
  tokenizerConfig: TokenizerConfigJson = {},
  generationConfig: GenerationConfigJson = {},
): Tokenizer {
  const parsed =
    typeof tokenizerJson === 'string'
      ? parseJsonText(tokenizerJson, 'tokenizer.json', 'TOKENIZER_ERROR')
      : tokenizerJson;
  checkTokenizerJson(parsed);
  checkTokenizerConfig(tokenizerConfig);
  const endOfGeneration = checkGenerationConfig(generationConfig);
  return asTokenizerError(
    () => new JsonTokenizer(compatibleTokenizerJson(parsed) as TokenizerJson, tokenizerConfig, endOfGeneration),
  );
}

/**
 * Runs `work` on `@huggingface/tokenizers`, turning anything it throws that is not already a StrataError into
 * `TOKENIZER_ERROR`: a file that passed the shape checks may still hold values the library rejects (a bad regex).
 */
function asTokenizerError<T>(work: () => T): T {
  try {
    return work();
  } catch (cause) {
    if (StrataError.isInstance(cause)) throw cause;
    throw new StrataError('TOKENIZER_ERROR', `tokenizer.json could not be used: ${String(cause)}`, { cause });
  }
}

class JsonTokenizer implements Tokenizer {
  readonly kind = 'tokenizer.json' as const;
  readonly vocabularySize: number;
  readonly specialTokens: SpecialTokenIds;
  readonly endOfGenerationIds: ReadonlySet<number>;
  readonly addBos: boolean;
  readonly addEos: boolean;
  private readonly full: HuggingFaceTokenizer;
  private plainTokenizer: HuggingFaceTokenizer | undefined;
  private readonly pieces: string[];
  private readonly ids: Map<string, number>;
  private readonly specialIds: ReadonlySet<number>;
  private readonly addedIds: ReadonlySet<number>;
  private readonly byteLevel: boolean;
  private readonly wordPiece: boolean;
  private readonly cleanUpSpaces: boolean;

  constructor(
    private readonly json: TokenizerJson,
    private readonly config: TokenizerConfigJson,
    generationEos: readonly number[],
  ) {
    this.full = new HuggingFaceTokenizer(json, config);
    this.ids = this.full.get_vocab(true);
    let size = 0;
    for (const id of this.ids.values()) size = Math.max(size, id + 1);
    this.vocabularySize = size;
    this.pieces = new Array<string>(size).fill('');
    // Two pieces may share an id in a malformed vocabulary; the library's own tables then hold holes, so only strings
    // are taken.
    for (const [piece, id] of this.ids) if (typeof piece === 'string') this.pieces[id] = piece;
    const added = json.added_tokens ?? [];
    this.specialIds = new Set(added.filter((token) => token.special).map((token) => token.id));
    this.addedIds = new Set(added.map((token) => token.id));
    const types = decoderTypes(json.decoder);
    this.byteLevel = types.has('ByteLevel');
    this.wordPiece = types.has('WordPiece');
    this.cleanUpSpaces = config.clean_up_tokenization_spaces ?? false;

    const idOf = (value: string | { readonly content: string } | null | undefined) => {
      const content = tokenContent(value);
      return content === undefined ? undefined : this.ids.get(content);
    };
    const firstPresent = (candidates: readonly string[]) => {
      for (const text of candidates) if (this.ids.has(text)) return this.ids.get(text);
      return undefined;
    };
    this.specialTokens = {
      bos: idOf(config.bos_token),
      eos: idOf(config.eos_token),
      eot: firstPresent(END_OF_TURN),
      eom: this.ids.get('<|eom_id|>'),
      unknown: idOf(config.unk_token),
      padding: idOf(config.pad_token),
      separator: idOf(config.sep_token),
      mask: idOf(config.mask_token),
    };
    const endOfGeneration = new Set<number>();
    for (const id of [this.specialTokens.eos, this.specialTokens.eot, this.specialTokens.eom]) {
      if (id !== undefined) endOfGeneration.add(id);
    }
    for (const text of END_OF_GENERATION) {
      const id = this.ids.get(text);
      if (id !== undefined && this.specialIds.has(id)) endOfGeneration.add(id);
    }
    for (const id of generationEos) endOfGeneration.add(id);
    this.endOfGenerationIds = endOfGeneration;

    const bare = this.full.encode('a', { add_special_tokens: false }).ids;
    const framed = this.full.encode('a', { add_special_tokens: true }).ids;
    const prefix = framed.length > bare.length ? framed[0] : undefined;
    this.addBos = config.add_bos_token ?? (prefix !== undefined && prefix === this.specialTokens.bos);
    this.addEos =
      config.add_eos_token ?? (framed.length > bare.length && framed[framed.length - 1] === this.specialTokens.eos);
  }

  /** The same tokenizer without special added tokens, so that their text in the input stays plain text. */
  private get plain(): HuggingFaceTokenizer {
    if (this.plainTokenizer === undefined) {
      const added = (this.json.added_tokens ?? []).filter((token) => !token.special);
      this.plainTokenizer = new HuggingFaceTokenizer({ ...this.json, added_tokens: added }, this.config);
    }
    return this.plainTokenizer;
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const ids = asTokenizerError(() => {
      const engine = options.parseSpecial ? this.full : this.plain;
      return engine.encode(text, { add_special_tokens: options.addSpecial ?? false }).ids;
    });
    // A vocabulary that misses a piece of the text (and has no unknown token for it) yields no id: say so here
    // rather than hand the caller an id it cannot use.
    for (const id of ids) {
      if (!Number.isInteger(id) || id < 0 || id >= this.vocabularySize) {
        throw new StrataError(
          'TOKENIZER_ERROR',
          `tokenizer.json cannot encode this text: a piece has no id in its vocabulary (got ${id}) and the model ` +
            'declares no unk_token; the file is incomplete',
          { details: { id } },
        );
      }
    }
    return ids;
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    for (const id of ids) this.check(id);
    if (ids.length === 0) return '';
    return asTokenizerError(() =>
      this.full.decode([...ids], {
        skip_special_tokens: options.skipSpecial ?? false,
        clean_up_tokenization_spaces: this.cleanUpSpaces,
      }),
    );
  }

  createStreamDecoder(options: StreamDecoderOptions = {}): StreamDecoder {
    const skipSpecial = options.skipSpecial ?? false;
    const strip = (options.atTextStart ?? false) && !this.byteLevel;
    return new ByteStreamDecoder(
      (id) => (skipSpecial && this.specialIds.has(id) ? new Uint8Array(0) : this.tokenToBytes(id)),
      strip,
    );
  }

  tokenToPiece(id: number): string {
    this.check(id);
    return this.pieces[id] as string;
  }

  tokenToBytes(id: number): Uint8Array {
    const piece = this.tokenToPiece(id);
    const output: number[] = [];
    if (this.addedIds.has(id)) pushUtf8(piece, output);
    else if (this.byteLevel) fromByteLevel(piece, output);
    else {
      const hex = HEX_BYTE.exec(piece);
      if (hex !== null) output.push(Number.parseInt(hex[1] as string, 16));
      else if (this.wordPiece) pushUtf8(piece.startsWith('##') ? piece.slice(2) : ` ${piece}`, output);
      else pushUtf8(piece.replaceAll('\u2581', ' '), output);
    }
    return Uint8Array.from(output);
  }

  pieceToToken(piece: string): number | undefined {
    return this.ids.get(piece);
  }

  isEndOfGeneration(id: number): boolean {
    return this.endOfGenerationIds.has(id);
  }

  private check(id: number): void {
    checkTokenId(id, this.vocabularySize);
  }
}
