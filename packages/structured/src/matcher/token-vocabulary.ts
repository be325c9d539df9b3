import type { Tokenizer } from '@strata/loaders';
import { type Utf8Table, utf8Table } from './utf8-guard.js';
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
 * Each token's decoded bytes, with control tokens (those that decoding with `skipSpecial` changes) and ids past the
 * tokenizer's vocabulary (padding up to `logitsSize`) as empty arrays: XGrammar never allows an empty token inside a
 * grammar.
 */
export function vocabularyBytes(tokenizer: GrammarTokenizer, logitsSize: number): Uint8Array[] {
  const empty = new Uint8Array(0);
  const result: Uint8Array[] = new Array(logitsSize).fill(empty);
  for (let id = 0; id < Math.min(tokenizer.vocabularySize, logitsSize); id++) {
    const bytes = tokenizer.tokenToBytes(id);
    if (bytes.length === 0) continue;
    // A lone SentencePiece space also decodes to nothing at a text start, but with and without skipping alike: it stays.
    if (tokenizer.decode([id], { skipSpecial: true }) !== tokenizer.decode([id])) continue;
    result[id] = bytes;
  }
  return result;
}

/** The vocabulary as XGrammar reads it: each token's bytes in the byte-level encoding (GPT-2's byte characters). */
export function encodeVocabulary(tokenBytes: readonly Uint8Array[]): string[] {
  return tokenBytes.map((bytes) => {
    let piece = '';
    for (const byte of bytes) piece += BYTE_CHARACTERS[byte]!;
    return piece;
  });
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
  /** Token bytes and the tokens valid at a character boundary, for the UTF-8 guard. */
  readonly utf8: Utf8Table;
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
      const tokenBytes = vocabularyBytes(tokenizer, logitsSize);
      const info = await module.TokenizerInfo.createTokenizerInfo(
        encodeVocabulary(tokenBytes),
        'byte_level',
        false,
        logitsSize,
        stopTokens,
      );
      const compiler = await module.GrammarCompiler.createGrammarCompiler(info, true);
      const vocabulary = { module, compiler, logitsSize, stopTokens, utf8: utf8Table(tokenBytes) };
      compilers.register(vocabulary, compiler);
      return vocabulary;
    })();
    bySize.set(logitsSize, result);
  }
  return result;
}
