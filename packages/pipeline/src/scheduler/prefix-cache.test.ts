import { describe, expect, it } from 'vitest';
import { type PrefixBlock, PrefixCache } from './prefix-cache.js';

const PAGE = 4;
const tokens = Array.from({ length: 4 * PAGE + 1 }, (_, index) => 10 + index);

/** Publishes blocks 0…3 of `tokens`, block i holding page i of the full group and page 10 + i of the windowed one. */
function chainOf(cache: PrefixCache): PrefixBlock[] {
  const blocks: PrefixBlock[] = [];
  for (let index = 0; index < 4; index++) {
    const pages = cache.windows.map((window) => (window === undefined ? index : 10 + index));
    blocks.push(cache.insert(blocks[index - 1], tokens, index, pages)!);
  }
  return blocks;
}

describe('PrefixCache over page groups', () => {
  it('a windowed group loses pages on their own; a prefix is cut back to the last one its window has', () => {
    const cache = new PrefixCache(PAGE, [undefined, 4]); // a window of 4 reads the last block of a prefix only
    const blocks = chainOf(cache);
    expect(cache.match(tokens, 4)).toEqual(blocks);
    cache.match(tokens, 2); // blocks 0 and 1 are used later than 2 and 3
    // Windowed eviction takes the least recently used block's windowed page alone: block 2's, then block 3's.
    expect(cache.evictLeastRecentlyUsed(1)).toEqual([{ group: 1, page: 12 }]);
    expect(cache.match(tokens, 4)).toEqual(blocks); // the whole prefix reads only block 3's windowed page
    cache.match(tokens, 2);
    expect(cache.evictLeastRecentlyUsed(1)).toEqual([{ group: 1, page: 13 }]);
    // Without block 3's windowed page the prefix stops where the window's block is held: after block 1.
    expect(cache.match(tokens, 4)).toEqual(blocks.slice(0, 2));
    expect(cache.counters.blocks).toBe(4);
    expect(cache.counters.pages).toEqual([4, 2]);
    expect(cache.counters.evictions).toBe(2);
  });

  it('full-attention eviction takes whole leaf blocks, never pinned ones', () => {
    const cache = new PrefixCache(PAGE, [undefined, 8]);
    const blocks = chainOf(cache);
    cache.pin(blocks[3]!, 0);
    cache.pin(blocks[3]!, 1);
    expect(cache.evictablePages(0)).toBe(3);
    expect(cache.evictablePages(1)).toBe(3);
    expect(cache.evictLeastRecentlyUsed(0)).toBeUndefined(); // the only leaf is pinned
    cache.unpin(blocks[3]!, 0);
    cache.unpin(blocks[3]!, 1);
    expect(cache.evictLeastRecentlyUsed(0)).toEqual([
      { group: 0, page: 3 },
      { group: 1, page: 13 },
    ]);
    expect(cache.counters.blocks).toBe(3);
    // A window of 8 reads the last two blocks of a prefix: three blocks are still whole.
    expect(cache.match(tokens, 4)).toEqual(blocks.slice(0, 3));
  });

  it('with windowed groups only, a block that lost every page goes, and so do its empty parents', () => {
    const cache = new PrefixCache(PAGE, [4]);
    const blocks = chainOf(cache);
    cache.match(tokens, 4);
    expect(cache.evictLeastRecentlyUsed(0)).toEqual([{ group: 0, page: 10 }]);
    expect(cache.counters.blocks).toBe(4); // block 0 stays: it keys its children
    expect(cache.match(tokens, 4)).toEqual(blocks);
    cache.evictLeastRecentlyUsed(0);
    cache.evictLeastRecentlyUsed(0);
    expect(cache.evictLeastRecentlyUsed(0)).toEqual([{ group: 0, page: 13 }]);
    expect(cache.counters.blocks).toBe(0);
    expect(cache.match(tokens, 4)).toEqual([]);
  });

  it('a block that lost its windowed page adopts an equal one again', () => {
    const cache = new PrefixCache(PAGE, [undefined, 4]);
    const blocks = chainOf(cache);
    cache.match(tokens, 3);
    expect(cache.evictLeastRecentlyUsed(1)).toEqual([{ group: 1, page: 13 }]);
    expect(cache.match(tokens, 4)).toEqual(blocks.slice(0, 3));
    cache.adopt(blocks[3]!, 1, 21);
    expect(cache.match(tokens, 4)).toEqual(blocks);
    expect(blocks[3]!.pages).toEqual([3, 21]);
  });
});
