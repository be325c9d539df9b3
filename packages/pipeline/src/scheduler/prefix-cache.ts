/** One cached block: `pageSize` prompt tokens whose keys and values sit in `page`, after the blocks of its parent chain. */
export interface PrefixBlock {
  /** Unique id (keys of children include it, so a block matches only after the same whole prefix). */
  readonly id: number;
  /** The page holding the block's keys and values. */
  readonly page: number;
  /** The block before this one, undefined for a first block. */
  readonly parent: PrefixBlock | undefined;
  /** Key under which the block is found: the parent's id and the block's tokens. */
  readonly key: string;
}

/** Counters of a {@link PrefixCache}. */
export interface PrefixCacheCounters {
  /** Blocks held now. */
  readonly blocks: number;
  /** Lookups done (one per admitted sequence). */
  readonly lookups: number;
  /** Blocks found by lookups. */
  readonly hitBlocks: number;
  /** Prompt tokens whose prefill was skipped thanks to the cache. */
  readonly hitTokens: number;
  /** Blocks evicted to free pages. */
  readonly evictions: number;
}

interface MutableBlock extends PrefixBlock {
  lastUsed: number;
  children: number;
  /** Running sequences whose page tables hold this block's page (it cannot be evicted while any does). */
  references: number;
}

/**
 * Page-aligned blocks of identical token prefixes, found by an exact key chain (a block's key is its parent's id and
 * its own tokens, so two prompts share a block only when everything before it is equal too). Blocks are evicted least
 * recently used first, leaves before their parents; the page of an evicted block goes back to the caller.
 */
export class PrefixCache {
  private readonly blocks = new Map<string, MutableBlock>();
  private nextId = 1;
  private clock = 0;
  private lookupCount = 0;
  private hitBlockCount = 0;
  private hitTokenCount = 0;
  private evictionCount = 0;
  private pinnedCount = 0;

  /** A cache of blocks of `pageSize` tokens. */
  constructor(readonly pageSize: number) {}

  /** Counters for metrics and tests. */
  get counters(): PrefixCacheCounters {
    return {
      blocks: this.blocks.size,
      lookups: this.lookupCount,
      hitBlocks: this.hitBlockCount,
      hitTokens: this.hitTokenCount,
      evictions: this.evictionCount,
    };
  }

  /**
   * The longest chain of cached blocks that starts `tokens`, at most `maxBlocks` long; every block found counts as used
   * now. Counts one lookup and its hits.
   */
  match(tokens: readonly number[], maxBlocks: number): PrefixBlock[] {
    this.lookupCount++;
    const found: PrefixBlock[] = [];
    let parent: MutableBlock | undefined;
    const now = ++this.clock;
    for (let index = 0; index < maxBlocks; index++) {
      const block = this.blocks.get(this.keyOf(parent, tokens, index));
      if (block === undefined) break;
      block.lastUsed = now;
      found.push(block);
      parent = block;
    }
    this.hitBlockCount += found.length;
    this.hitTokenCount += found.length * this.pageSize;
    return found;
  }

  /**
   * Adds block `index` of `tokens` (after `parent`, the block before it) held in `page`. Returns the new block, or
   * undefined when an equal block is already cached (the caller keeps its page).
   */
  insert(
    parent: PrefixBlock | undefined,
    tokens: readonly number[],
    index: number,
    page: number,
  ): PrefixBlock | undefined {
    const key = this.keyOf(parent, tokens, index);
    if (this.blocks.has(key)) return undefined;
    const block: MutableBlock = {
      id: this.nextId++,
      page,
      parent,
      key,
      lastUsed: ++this.clock,
      children: 0,
      references: 0,
    };
    if (parent !== undefined) (parent as MutableBlock).children++;
    this.blocks.set(key, block);
    return block;
  }

  /** Blocks no running sequence references (those eviction may take). */
  get evictableBlocks(): number {
    return this.blocks.size - this.pinnedCount;
  }

  /** Marks the block as referenced by one more running sequence's page table (a page shared without a copy). */
  pin(block: PrefixBlock): void {
    const mutable = block as MutableBlock;
    if (mutable.references++ === 0) this.pinnedCount++;
  }

  /** Drops one reference taken by {@link PrefixCache.pin}. */
  unpin(block: PrefixBlock): void {
    const mutable = block as MutableBlock;
    if (mutable.references > 0 && --mutable.references === 0) this.pinnedCount--;
  }

  /** The cached block for block `index` of `tokens` after `parent`, if any (no counters change). */
  peek(parent: PrefixBlock | undefined, tokens: readonly number[], index: number): PrefixBlock | undefined {
    return this.blocks.get(this.keyOf(parent, tokens, index));
  }

  /**
   * Evicts the least recently used block that has no children, is not pinned and whose page is not in `keep`; returns
   * its page, or undefined when there is none.
   */
  evictLeastRecentlyUsed(keep: ReadonlySet<number> = new Set()): number | undefined {
    let victim: MutableBlock | undefined;
    for (const block of this.blocks.values()) {
      if (
        block.children === 0 &&
        block.references === 0 &&
        !keep.has(block.page) &&
        (victim === undefined || block.lastUsed < victim.lastUsed)
      )
        victim = block;
    }
    if (victim === undefined) return undefined;
    this.blocks.delete(victim.key);
    if (victim.parent !== undefined) (victim.parent as MutableBlock).children--;
    this.evictionCount++;
    return victim.page;
  }

  /** Removes every block; returns their pages. */
  clear(): number[] {
    const pages = [...this.blocks.values()].map((block) => block.page);
    this.blocks.clear();
    return pages;
  }

  private keyOf(parent: PrefixBlock | undefined, tokens: readonly number[], index: number): string {
    const start = index * this.pageSize;
    return `${parent?.id ?? 0}:${tokens.slice(start, start + this.pageSize).join(',')}`;
  }
}
