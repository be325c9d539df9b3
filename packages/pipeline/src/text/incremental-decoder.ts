import type { PipelineTokenizer } from './tokenizer.js';

const REPLACEMENT = '\uFFFD';

/**
 * Turns a growing list of token ids into text deltas that never split a UTF-8 character: a token that ends inside a
 * multi-byte character yields no text until the character completes. Decodes a short window of earlier tokens along
 * with the new ones, so tokenizers whose decoding depends on context (SentencePiece's leading space) come out right.
 */
export class IncrementalDecoder {
  private readonly ids: number[] = [];
  private prefixOffset = 0;
  private readOffset = 0;

  constructor(private readonly tokenizer: PipelineTokenizer) {}

  /** Adds one token and returns the text it completes (possibly empty). */
  push(token: number): string {
    this.ids.push(token);
    return this.take(false);
  }

  /** Returns whatever text is still held back (an incomplete character at the very end comes out as U+FFFD). */
  flush(): string {
    return this.take(true);
  }

  private take(final: boolean): string {
    if (this.readOffset >= this.ids.length) return '';
    const options = { skipSpecialTokens: true };
    const before = this.tokenizer.decode(this.ids.slice(this.prefixOffset, this.readOffset), options);
    const after = this.tokenizer.decode(this.ids.slice(this.prefixOffset), options);
    if (!final && (after.length <= before.length || after.endsWith(REPLACEMENT))) return '';
    const delta = after.startsWith(before) ? after.slice(before.length) : after.slice(commonPrefix(before, after));
    this.prefixOffset = this.readOffset;
    this.readOffset = this.ids.length;
    return delta;
  }
}

function commonPrefix(a: string, b: string): number {
  let index = 0;
  while (index < a.length && index < b.length && a[index] === b[index]) index++;
  return index;
}
