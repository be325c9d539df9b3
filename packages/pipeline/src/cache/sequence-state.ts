import { type CacheGeometry, canResumeAt } from './layer-caches.js';

/**
 * The tokens whose keys and values sit in a sequence's caches (positions 0 … length − 1). The pipeline keeps one per
 * sequence so that a new request that starts with the same tokens (the next turn of a chat) reuses that prefix.
 */
export class SequenceState {
  private readonly tokens: number[] = [];

  /** Tokens currently cached. */
  get length(): number {
    return this.tokens.length;
  }

  /** A copy of the cached tokens. */
  snapshot(): number[] {
    return this.tokens.slice();
  }

  /**
   * How many leading tokens of `ids` can be kept: the common prefix with the cache, leaving at least the last token of
   * `ids` to compute (its logits are needed), and 0 when a ring-buffer layer already overwrote what the rest would read.
   */
  reusablePrefix(ids: ArrayLike<number>, geometry: readonly CacheGeometry[]): number {
    const limit = Math.min(this.tokens.length, ids.length - 1);
    let common = 0;
    while (common < limit && this.tokens[common] === ids[common]) common++;
    return canResumeAt(geometry, this.tokens.length, common) ? common : 0;
  }

  /** Forgets every token from `length` on (their cache rows become stale and are overwritten later). */
  truncate(length: number): void {
    this.tokens.length = Math.min(this.tokens.length, length);
  }

  /** Records tokens whose keys and values were just written. */
  append(ids: ArrayLike<number>): void {
    for (let index = 0; index < ids.length; index++) this.tokens.push(ids[index]!);
  }
}
