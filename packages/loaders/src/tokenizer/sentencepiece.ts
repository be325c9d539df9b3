import { hexByteToken } from './bpe.js';
import { PriorityQueue } from './priority-queue.js';

/** One candidate merge of two neighbouring symbols, scored by the merged token's score. */
interface Bigram {
  readonly left: number;
  readonly right: number;
  readonly score: number;
  readonly length: number;
}

const encoder = new TextEncoder();

/** What {@link encodeSentencePiece} needs from a vocabulary. */
export interface SentencePieceVocabulary {
  /** Vocabulary text → id. */
  readonly tokenIds: ReadonlyMap<string, number>;
  /** Score of each token id (log-probability-like; higher merges first). */
  readonly scores: ArrayLike<number>;
  /** Id used for a byte that has no `<0xXX>` token, if any. */
  readonly unknownId: number | undefined;
}

/**
 * SentencePiece BPE as llama.cpp runs it: split into Unicode characters, then repeatedly merge the neighbouring pair
 * whose concatenation is a vocabulary token with the highest score (leftmost first on ties). A final symbol that is
 * not a token is spelled as `<0xXX>` byte tokens. `text` must already have spaces escaped as `▁`.
 */
export function encodeSentencePiece(text: string, vocabulary: SentencePieceVocabulary, output: number[]): void {
  const symbols = Array.from(text);
  const count = symbols.length;
  if (count === 0) return;
  const previous = new Int32Array(count);
  const next = new Int32Array(count);
  for (let index = 0; index < count; index++) {
    previous[index] = index - 1;
    next[index] = index + 1 < count ? index + 1 : -1;
  }
  const { tokenIds, scores } = vocabulary;
  const queue = new PriorityQueue<Bigram>((a, b) => a.score > b.score || (a.score === b.score && a.left < b.left));
  const addBigram = (left: number, right: number) => {
    if (left < 0 || right < 0) return;
    const merged = (symbols[left] as string) + (symbols[right] as string);
    const id = tokenIds.get(merged);
    if (id === undefined) return;
    queue.push({ left, right, score: scores[id] as number, length: merged.length });
  };
  for (let index = 1; index < count; index++) addBigram(index - 1, index);

  for (let bigram = queue.pop(); bigram !== undefined; bigram = queue.pop()) {
    const leftText = symbols[bigram.left] as string;
    const rightText = symbols[bigram.right] as string;
    if (leftText.length === 0 || rightText.length === 0 || leftText.length + rightText.length !== bigram.length)
      continue;
    symbols[bigram.left] = leftText + rightText;
    symbols[bigram.right] = '';
    const after = next[bigram.right] as number;
    next[bigram.left] = after;
    if (after >= 0) previous[after] = bigram.left;
    addBigram(previous[bigram.left] as number, bigram.left);
    addBigram(bigram.left, after);
  }

  for (let index = 0; index !== -1; index = next[index] as number) {
    const symbol = symbols[index] as string;
    const id = tokenIds.get(symbol);
    if (id !== undefined) {
      output.push(id);
      continue;
    }
    for (const byte of encoder.encode(symbol)) {
      const byteId =
        tokenIds.get(hexByteToken(byte)) ?? (byte < 0x80 ? tokenIds.get(String.fromCharCode(byte)) : undefined);
      const fallback = byteId ?? vocabulary.unknownId;
      if (fallback !== undefined) output.push(fallback);
    }
  }
}

const CACHE_LIMIT = 50_000;
const WORD_START = /(?<=[^\u2581])(?=\u2581)/u;
const INNER_SPACE = /[^\u2581]\u2581/u;

/**
 * {@link encodeSentencePiece} over a whole text, faster: when no vocabulary entry has a `▁` after another character
 * (true of vocabularies trained with whitespace splitting, such as Llama's), no merge can cross the start of a word,
 * so each word is encoded alone — with the same result — and repeated words come from a cache.
 */
export class SentencePieceEncoder {
  private readonly cache = new Map<string, readonly number[]>();
  /** Whether words are encoded one by one (no vocabulary entry has an inner `▁`). */
  readonly splitsWords: boolean;

  constructor(private readonly vocabulary: SentencePieceVocabulary) {
    let inner = false;
    for (const text of vocabulary.tokenIds.keys()) {
      if (INNER_SPACE.test(text)) {
        inner = true;
        break;
      }
    }
    this.splitsWords = !inner;
  }

  /** Appends the tokens of `text` (spaces already escaped as `▁`) to `output`. */
  encode(text: string, output: number[]): void {
    if (!this.splitsWords) {
      encodeSentencePiece(text, this.vocabulary, output);
      return;
    }
    for (const word of text.split(WORD_START)) {
      let ids = this.cache.get(word);
      if (ids === undefined) {
        const result: number[] = [];
        encodeSentencePiece(word, this.vocabulary, result);
        if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
        this.cache.set(word, result);
        ids = result;
      }
      for (const id of ids) output.push(id);
    }
  }
}
