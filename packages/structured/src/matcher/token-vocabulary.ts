import type { Tokenizer } from '@strata/loaders';
import { type XGrammarCompiler, type XGrammarModule, loadXGrammar } from '../xgrammar/load-xgrammar.js';

/** What a grammar matcher needs of a tokenizer: a `@strata/loaders` {@link Tokenizer} has it. */
export type GrammarTokenizer = Pick<Tokenizer, 'vocabularySize' | 'tokenToBytes' | 'decode' | 'endOfGenerationIds'>;

/** GPT-2's byte ↔ printable-character table, the `byte_level` encoding XGrammar decodes every token with. */
const BYTE_CHARACTERS: readonly string[] = (() => {
  const printable: number[] = [];
  for (let byte = 33; byte <= 126; byte++) printable.push(byte);
  for (let byte = 161; byte <= 172; byte++) printable.push(byte);
  for (let byte = 174; byte <= 255; byte++) printable.push(byte);
  const table: string[] = new Array(256);
  let extra = 0;
  for (let byte = 0; byte < 256; byte++) {
    table[byte] = String.fromCodePoint(printable.includes(byte) ? byte : 256 + extra++);
  }
  return table;
})();

/**
 * The vocabulary as XGrammar reads it: each token's decoded bytes in the byte-level encoding, and control tokens
 * (those that decoding with `skipSpecial` changes) as empty strings, which XGrammar never allows inside a grammar.
 */
export function encodeVocabulary(tokenizer: GrammarTokenizer, logitsSize: number): string[] {
  const pieces: string[] = new Array(logitsSize).fill('');
  for (let id = 0; id < Math.min(tokenizer.vocabularySize, logitsSize); id++) {
    const bytes = tokenizer.tokenToBytes(id);
    if (bytes.length === 0) continue;
    // Control tokens decode to nothing when special tokens are skipped (a lone SentencePiece space does too, but also
    // without skipping, so it stays).
    if (tokenizer.decode([id], { skipSpecial: true }) !== tokenizer.decode([id])) continue;
    let piece = '';
    for (const byte of bytes) piece += BYTE_CHARACTERS[byte]!;
    pieces[id] = piece;
  }
  return pieces;
}

/** A tokenizer prepared for XGrammar: one per tokenizer and logits size, shared by every matcher over it. */
export interface PreparedVocabulary {
  /** The loaded XGrammar module. */
  readonly module: XGrammarModule;
  /** The compiler bound to this vocabulary (caches compiled grammars). */
  readonly compiler: XGrammarCompiler;
  /** Number of logits (may exceed the tokenizer's vocabulary when the model pads it). */
  readonly logitsSize: number;
  /** Token ids that end the generation; allowed only where the grammar is complete. */
  readonly stopTokens: readonly number[];
}

const prepared = new WeakMap<object, Map<number, Promise<PreparedVocabulary>>>();
const compilers = new FinalizationRegistry<XGrammarCompiler>((compiler) => compiler.dispose());

/**
 * Prepares (once, then from a cache keyed by the tokenizer object) the XGrammar compiler for a vocabulary. The
 * WebAssembly objects are freed when the tokenizer is garbage-collected.
 */
export function prepareVocabulary(
  tokenizer: GrammarTokenizer,
  logitsSize = tokenizer.vocabularySize,
): Promise<PreparedVocabulary> {
  let bySize = prepared.get(tokenizer);
  if (bySize === undefined) {
    bySize = new Map();
    prepared.set(tokenizer, bySize);
  }
  let result = bySize.get(logitsSize);
  if (result === undefined) {
    result = (async () => {
      const module = await loadXGrammar();
      const stopTokens = [...tokenizer.endOfGenerationIds].filter((id) => id < logitsSize);
      const info = await module.TokenizerInfo.createTokenizerInfo(
        encodeVocabulary(tokenizer, logitsSize),
        'byte_level',
        false,
        logitsSize,
        stopTokens,
      );
      const compiler = await module.GrammarCompiler.createGrammarCompiler(info, true);
      const vocabulary = { module, compiler, logitsSize, stopTokens };
      compilers.register(vocabulary, compiler);
      return vocabulary;
    })();
    bySize.set(logitsSize, result);
  }
  return result;
}
