/** Options of {@link Tokenizer.encode}. */
export interface EncodeOptions {
  /** Add the tokens the model expects around a text (BOS, EOS, BERT's CLS/SEP) as its tokenizer declares. Default false. */
  readonly addSpecial?: boolean;
  /**
   * Recognise control tokens written in the text (`<|im_start|>`, `<s>`, …) as single tokens. Default false: they are
   * tokenized as plain text. User-defined added tokens are always recognised.
   */
  readonly parseSpecial?: boolean;
}

/** Options of {@link Tokenizer.decode}. */
export interface DecodeOptions {
  /** Leave out control and unknown tokens (BOS, EOS, `<|im_end|>`, …). Default false. */
  readonly skipSpecial?: boolean;
}

/** Options of {@link Tokenizer.createStreamDecoder}. */
export interface StreamDecoderOptions extends DecodeOptions {
  /**
   * The ids start a text (as in {@link Tokenizer.decode}), so a SentencePiece-style leading space of the first piece
   * is removed. Default false: the ids continue a prompt and every space is kept.
   */
  readonly atTextStart?: boolean;
}

/** Turns ids, one at a time, into text; never emits part of a UTF-8 sequence. */
export interface StreamDecoder {
  /** Takes the next id; returns the text it completes (possibly empty while a character is still incomplete). */
  push(id: number): string;
  /** Ends the stream: returns what was held back (an incomplete sequence becomes U+FFFD). */
  flush(): string;
}

/** The special token ids of a vocabulary; undefined where the vocabulary has none. */
export interface SpecialTokenIds {
  /** Beginning of sequence. */
  readonly bos: number | undefined;
  /** End of sequence. */
  readonly eos: number | undefined;
  /** End of turn (`<|eot_id|>`, `<|im_end|>`, `<end_of_turn>`, …). */
  readonly eot: number | undefined;
  /** End of message (`<|eom_id|>`). */
  readonly eom: number | undefined;
  /** Unknown token. */
  readonly unknown: number | undefined;
  /** Padding. */
  readonly padding: number | undefined;
  /** Separator (BERT's SEP). */
  readonly separator: number | undefined;
  /** Mask (BERT). */
  readonly mask: number | undefined;
}

/** The tokenizer algorithm behind a {@link Tokenizer}. */
export type TokenizerKind = 'llama' | 'gpt2' | 'bert' | 'tokenizer.json';

/**
 * Text ↔ token ids for one vocabulary. Built by `tokenizerFromGguf` or `tokenizerFromJson`; immutable and safe to
 * share.
 */
export interface Tokenizer {
  /** The algorithm: GGUF's `tokenizer.ggml.model` (`llama`, `gpt2`, `bert`) or `tokenizer.json`. */
  readonly kind: TokenizerKind;
  /** Number of token ids (0 … vocabularySize − 1). */
  readonly vocabularySize: number;
  /** The special token ids. */
  readonly specialTokens: SpecialTokenIds;
  /** Ids that end generation: EOS, EOT, EOM and the end-of-turn tokens the vocabulary has. */
  readonly endOfGenerationIds: ReadonlySet<number>;
  /** Whether `encode(…, {addSpecial: true})` starts with BOS. */
  readonly addBos: boolean;
  /** Whether `encode(…, {addSpecial: true})` ends with EOS. */
  readonly addEos: boolean;
  /** Text → ids. */
  encode(text: string, options?: EncodeOptions): number[];
  /** Ids → text (invalid UTF-8 becomes U+FFFD). Throws `TOKEN_OUT_OF_RANGE` for an id outside the vocabulary. */
  decode(ids: readonly number[], options?: DecodeOptions): string;
  /** The vocabulary entry of an id as stored (`Ġworld`, `▁world`, `<0x0A>`, `<|im_end|>`). */
  tokenToPiece(id: number): string;
  /** The bytes an id decodes to (special tokens as their text). */
  tokenToBytes(id: number): Uint8Array;
  /** The id of a vocabulary entry, if any (`<|im_end|>` → 2). */
  pieceToToken(piece: string): number | undefined;
  /** True when the id ends generation. */
  isEndOfGeneration(id: number): boolean;
  /** A new incremental decoder. */
  createStreamDecoder(options?: StreamDecoderOptions): StreamDecoder;
}
