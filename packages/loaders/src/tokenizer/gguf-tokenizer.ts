import { BytePairEncoder } from './bpe.js';
import { type GgufVocabulary, readGgufVocabulary } from './gguf-vocabulary.js';
import type { TokenizerMetadata } from './metadata-values.js';
import { compileExpressions, splitWithExpressions } from './pre-tokenizers.js';
import { SentencePieceEncoder } from './sentencepiece.js';
import { ByteStreamDecoder } from './stream-decoder.js';
import type {
  DecodeOptions,
  EncodeOptions,
  SpecialTokenIds,
  StreamDecoder,
  StreamDecoderOptions,
  Tokenizer,
  TokenizerKind,
} from './tokenizer.js';
import { fromByteLevel, pushUtf8, toByteLevel } from './unicode.js';
import { checkTokenId, type Fragment, type SpecialToken, SpecialTokenSplitter, TokenAttribute } from './vocabulary.js';
import { bertWords, encodeWordPiece } from './wordpiece.js';

const SPECIAL_MASK = TokenAttribute.control | TokenAttribute.userDefined | TokenAttribute.unknown;
const HIDDEN_MASK = TokenAttribute.control | TokenAttribute.unknown;
const EMPTY = new Uint8Array(0);

/**
 * Builds the tokenizer stored in a GGUF file's metadata (`tokenizer.ggml.*`), reproducing llama.cpp: `llama`
 * (SentencePiece BPE by scores), `gpt2` (byte-level BPE by merge ranks, pre-tokenizer by `tokenizer.ggml.pre`) and
 * `bert` (WordPiece). Any other model raises `UNKNOWN_TOKENIZER`.
 */
export function tokenizerFromGguf(metadata: TokenizerMetadata): Tokenizer {
  return new GgufTokenizer(readGgufVocabulary(metadata));
}

class GgufTokenizer implements Tokenizer {
  readonly kind: TokenizerKind;
  readonly vocabularySize: number;
  readonly specialTokens: SpecialTokenIds;
  readonly endOfGenerationIds: ReadonlySet<number>;
  readonly addBos: boolean;
  readonly addEos: boolean;
  private readonly allSpecials: SpecialTokenSplitter;
  private readonly userDefinedSpecials: SpecialTokenSplitter;
  private readonly expressions: RegExp[];
  private readonly encoder: BytePairEncoder | undefined;
  private readonly sentencePiece: SentencePieceEncoder | undefined;
  private readonly bytes: (Uint8Array | undefined)[];
  private readonly hiddenBytes: (Uint8Array | undefined)[];

  constructor(private readonly vocabulary: GgufVocabulary) {
    this.kind = vocabulary.model;
    this.vocabularySize = vocabulary.tokens.length;
    this.specialTokens = vocabulary.special;
    this.endOfGenerationIds = vocabulary.endOfGeneration;
    this.addBos = vocabulary.addBos && vocabulary.special.bos !== undefined;
    this.addEos = vocabulary.addEos && vocabulary.special.eos !== undefined;
    const specials: SpecialToken[] = [];
    vocabulary.attributes.forEach((attribute, id) => {
      if (attribute & SPECIAL_MASK) specials.push({ id, text: vocabulary.tokens[id] as string, attribute });
    });
    specials.sort((a, b) => b.text.length - a.text.length || a.id - b.id);
    this.allSpecials = new SpecialTokenSplitter(specials);
    this.userDefinedSpecials = new SpecialTokenSplitter(
      specials.filter((special) => !(special.attribute & HIDDEN_MASK)),
    );
    const pre = vocabulary.preTokenizer;
    this.expressions = pre === undefined ? [] : compileExpressions(pre.expressions);
    this.encoder =
      vocabulary.model === 'gpt2'
        ? new BytePairEncoder(vocabulary.tokenIds, vocabulary.ranks, {
            ignoreMerges: pre?.ignoreMerges ?? false,
            fallback: pre?.sentencePieceStyle ? 'hex-bytes' : 'characters',
          })
        : undefined;
    this.sentencePiece =
      vocabulary.model === 'llama'
        ? new SentencePieceEncoder({
            tokenIds: vocabulary.tokenIds,
            scores: vocabulary.scores,
            unknownId: vocabulary.special.unknown,
          })
        : undefined;
    this.bytes = new Array(this.vocabularySize);
    this.hiddenBytes = new Array(this.vocabularySize);
  }

  encode(text: string, options: EncodeOptions = {}): number[] {
    const vocabulary = this.vocabulary;
    const addSpecial = options.addSpecial ?? false;
    const fragments = (options.parseSpecial ? this.allSpecials : this.userDefinedSpecials).split(text);
    const output: number[] = [];
    const { bos, eos, separator } = vocabulary.special;
    if (vocabulary.model === 'bert') {
      if (addSpecial && bos !== undefined) output.push(bos);
      this.eachFragment(fragments, output, (piece) => {
        const words = bertWords(piece, vocabulary);
        encodeWordPiece(words, vocabulary.tokenIds, vocabulary.maximumTokenLength, vocabulary.special.unknown, output);
      });
      if (addSpecial && separator !== undefined) output.push(separator);
      return output;
    }
    if (addSpecial && this.addBos) output.push(bos as number);
    if (vocabulary.model === 'llama') {
      let previousSpecial = true;
      for (const fragment of fragments) {
        if ('token' in fragment) {
          output.push(fragment.token);
          previousSpecial = true;
          continue;
        }
        const prefixed = vocabulary.addSpacePrefix && previousSpecial ? ` ${fragment.text}` : fragment.text;
        (this.sentencePiece as SentencePieceEncoder).encode(prefixed.replaceAll(' ', '\u2581'), output);
        previousSpecial = false;
      }
    } else {
      const rawUtf8 = vocabulary.preTokenizer?.sentencePieceStyle ?? false;
      const encoder = this.encoder as BytePairEncoder;
      this.eachFragment(fragments, output, (piece) => {
        const source = rawUtf8 ? piece.replaceAll(' ', '\u2581') : piece;
        for (const word of splitWithExpressions(source, this.expressions)) {
          encoder.encode(rawUtf8 ? word : toByteLevel(word), output);
        }
      });
    }
    if (addSpecial && this.addEos) output.push(eos as number);
    return output;
  }

  private eachFragment(fragments: readonly Fragment[], output: number[], encodeText: (text: string) => void): void {
    for (const fragment of fragments) {
      if ('token' in fragment) output.push(fragment.token);
      else encodeText(fragment.text);
    }
  }

  decode(ids: readonly number[], options: DecodeOptions = {}): string {
    const decoder = this.createStreamDecoder({ skipSpecial: options.skipSpecial ?? false, atTextStart: true });
    let text = '';
    for (const id of ids) text += decoder.push(id);
    return text + decoder.flush();
  }

  createStreamDecoder(options: StreamDecoderOptions = {}): StreamDecoder {
    const skipSpecial = options.skipSpecial ?? false;
    const strip = (options.atTextStart ?? false) && (this.vocabulary.addSpacePrefix || this.kind === 'bert');
    return new ByteStreamDecoder((id) => this.pieceBytes(id, !skipSpecial), strip);
  }

  tokenToPiece(id: number): string {
    this.check(id);
    return this.vocabulary.tokens[id] as string;
  }

  tokenToBytes(id: number): Uint8Array {
    return this.pieceBytes(id, true);
  }

  pieceToToken(piece: string): number | undefined {
    return this.vocabulary.tokenIds.get(piece);
  }

  isEndOfGeneration(id: number): boolean {
    return this.endOfGenerationIds.has(id);
  }

  private check(id: number): void {
    checkTokenId(id, this.vocabularySize);
  }

  /** The bytes of one token, as llama.cpp's token_to_piece; control and unknown tokens only when `special`. */
  private pieceBytes(id: number, special: boolean): Uint8Array {
    this.check(id);
    const attribute = this.vocabulary.attributes[id] as number;
    if (!special && attribute & HIDDEN_MASK) return EMPTY;
    const cache = special ? this.bytes : this.hiddenBytes;
    const cached = cache[id];
    if (cached !== undefined) return cached;
    const text = this.vocabulary.tokens[id] as string;
    const output: number[] = [];
    if (attribute & (HIDDEN_MASK | TokenAttribute.userDefined)) pushUtf8(text, output);
    else if (attribute & TokenAttribute.normal) {
      if (this.kind === 'gpt2' && !this.vocabulary.preTokenizer?.sentencePieceStyle) fromByteLevel(text, output);
      else pushUtf8(text.replaceAll('\u2581', ' '), output);
    } else if (attribute & TokenAttribute.byte) {
      const value = Number.parseInt(text.slice(3, 5), 16);
      if (Number.isFinite(value)) output.push(value);
    }
    const bytes = Uint8Array.from(output);
    cache[id] = bytes;
    return bytes;
  }
}
