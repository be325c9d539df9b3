import { PriorityQueue } from './priority-queue.js';

/** One candidate merge of two neighbouring symbols. */
interface Bigram {
  readonly left: number;
  readonly right: number;
  readonly rank: number;
  readonly text: string;
}

/** Options of {@link BytePairEncoder}. */
export interface BytePairEncoderOptions {
  /** A whole piece found in the vocabulary is one token, merges or not (llama3, tekken). */
  readonly ignoreMerges?: boolean;
  /**
   * How a final symbol missing from the vocabulary is spelled: GPT-2 byte characters, one token per character
   * (`'characters'`), or `<0xXX>` byte tokens (`'hex-bytes'`, SentencePiece-style BPE).
   */
  readonly fallback: 'characters' | 'hex-bytes';
  /** Token id used when even the fallback has no token; omitted pieces are dropped (llama.cpp's behaviour). */
  readonly unknownId?: number;
}

const encoder = new TextEncoder();
const CACHE_LIMIT = 50_000;

/**
 * Byte-pair encoding of one pre-tokenized piece: start from its characters and repeatedly merge the neighbouring
 * pair with the lowest merge rank (leftmost first on ties) until no pair has a rank.
 */
export class BytePairEncoder {
  private readonly cache = new Map<string, readonly number[]>();

  /**
   * @param tokenIds vocabulary text → id.
   * @param ranks `"left right"` → merge rank (the merge list's order).
   */
  constructor(
    private readonly tokenIds: ReadonlyMap<string, number>,
    private readonly ranks: ReadonlyMap<string, number>,
    private readonly options: BytePairEncoderOptions,
  ) {}

  /** Appends the tokens of `piece` (already in the vocabulary's alphabet) to `output`. */
  encode(piece: string, output: number[]): void {
    const cached = this.cache.get(piece);
    if (cached !== undefined) {
      for (const id of cached) output.push(id);
      return;
    }
    const result: number[] = [];
    this.encodeUncached(piece, result);
    if (this.cache.size >= CACHE_LIMIT) this.cache.clear();
    this.cache.set(piece, result);
    for (const id of result) output.push(id);
  }

  private encodeUncached(piece: string, output: number[]): void {
    if (this.options.ignoreMerges) {
      const whole = this.tokenIds.get(piece);
      if (whole !== undefined) {
        output.push(whole);
        return;
      }
    }
    const symbols = Array.from(piece);
    const count = symbols.length;
    if (count === 1) {
      this.emit(symbols[0] as string, output);
      return;
    }
    const previous = new Int32Array(count);
    const next = new Int32Array(count);
    for (let index = 0; index < count; index++) {
      previous[index] = index - 1;
      next[index] = index + 1 < count ? index + 1 : -1;
    }
    const queue = new PriorityQueue<Bigram>((a, b) => a.rank < b.rank || (a.rank === b.rank && a.left < b.left));
    const addBigram = (left: number, right: number) => {
      if (left < 0 || right < 0) return;
      const leftText = symbols[left] as string;
      const rightText = symbols[right] as string;
      const rank = this.ranks.get(`${leftText} ${rightText}`);
      if (rank !== undefined) queue.push({ left, right, rank, text: leftText + rightText });
    };
    for (let index = 1; index < count; index++) addBigram(index - 1, index);

    for (let bigram = queue.pop(); bigram !== undefined; bigram = queue.pop()) {
      const leftText = symbols[bigram.left] as string;
      const rightText = symbols[bigram.right] as string;
      if (leftText.length === 0 || rightText.length === 0 || leftText + rightText !== bigram.text) continue;
      symbols[bigram.left] = bigram.text;
      symbols[bigram.right] = '';
      const after = next[bigram.right] as number;
      next[bigram.left] = after;
      if (after >= 0) previous[after] = bigram.left;
      addBigram(previous[bigram.left] as number, bigram.left);
      addBigram(bigram.left, after);
    }
    for (let index = 0; index !== -1; index = next[index] as number) this.emit(symbols[index] as string, output);
  }

  private emit(symbol: string, output: number[]): void {
    const id = this.tokenIds.get(symbol);
    if (id !== undefined) {
      output.push(id);
      return;
    }
    if (this.options.fallback === 'characters') {
      for (const character of symbol) this.pushOrUnknown(this.tokenIds.get(character), output);
    } else {
      for (const byte of encoder.encode(symbol)) this.pushOrUnknown(this.tokenIds.get(hexByteToken(byte)), output);
    }
  }

  private pushOrUnknown(id: number | undefined, output: number[]): void {
    if (id !== undefined) output.push(id);
    else if (this.options.unknownId !== undefined) output.push(this.options.unknownId);
  }
}

/** The SentencePiece byte-fallback token text for a byte: `<0x0A>`. */
export function hexByteToken(byte: number): string {
  return `<0x${byte.toString(16).toUpperCase().padStart(2, '0')}>`;
}
