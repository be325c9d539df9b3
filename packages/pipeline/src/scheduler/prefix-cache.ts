/**
 * One cached block: `pageSize` prompt tokens whose keys and values sit in one page of each page group, after the blocks
 * of its parent chain.
 */
export interface PrefixBlock {
  /** Unique id (keys of children include it, so a block matches only after the same whole prefix). */
  readonly id: number;
  /**
   * The block's page in each page group. The full-attention group's page stays as long as the block; a windowed
   * group's page may be evicted on its own (undefined then): a prefix needs it only near its end.
   */
  readonly pages: readonly (number | undefined)[];
  /** The block before this one, undefined for a first block. */
  readonly parent: PrefixBlock | undefined;
  /** Key under which the block is found: the parent's id and the block's tokens. */
  readonly key: string;
}

/** A page a cache gave back: page `page` of group `group`. */
export interface GroupPage {
  /** The page group. */
  readonly group: number;
  /** The page id within the group. */
  readonly page: number;
}

/** Counters of a {@link PrefixCache}. */
export interface PrefixCacheCounters {
  /** Blocks held now. */
  readonly blocks: number;
  /** Pages the blocks hold now, per page group. */
  readonly pages: readonly number[];
  /** Lookups done (one per admitted sequence). */
  readonly lookups: number;
  /** Blocks found by lookups. */
  readonly hitBlocks: number;
  /** Prompt tokens whose prefill was skipped thanks to the cache. */
  readonly hitTokens: number;
  /** Evictions to free pages: whole blocks, or a block's page of a windowed group. */
  readonly evictions: number;
}

interface MutableBlock extends PrefixBlock {
  readonly pages: (number | undefined)[];
  lastUsed: number;
  children: number;
  /** Per group: running sequences whose page tables hold this block's page (it cannot be evicted while any does). */
  readonly references: number[];
}

/**
 * Page-aligned blocks of identical token prefixes, found by an exact key chain (a block's key is its parent's id and
 * its own tokens, so two prompts share a block only when everything before it is equal too). A block holds a page in
 * each page group (`windows`: each group's sliding window, undefined for full attention).
 *
 * A prefix of m blocks is reused only when every group holds the pages its layers read from the first new position:
 * every block for full attention, the blocks of the last `window` positions for a windowed group. A longer chain
 * whose windowed pages near its end were evicted is cut back to the longest prefix that has them; what is cut is
 * recomputed. Eviction frees least recently used first: in the full-attention group whole blocks (leaves before their
 * parents), in a windowed group a block's page alone (the block stays for its full-attention page and its children).
 */
export class PrefixCache {
  private readonly blocks = new Map<string, MutableBlock>();
  private nextId = 1;
  private clock = 0;
  private lookupCount = 0;
  private hitBlockCount = 0;
  private hitTokenCount = 0;
  private evictionCount = 0;

  /** A cache of blocks of `pageSize` tokens over page groups of sliding windows `windows` (default: one full group). */
  constructor(
    readonly pageSize: number,
    readonly windows: readonly (number | undefined)[] = [undefined],
  ) {}

  /** Counters for metrics and tests. */
  get counters(): PrefixCacheCounters {
    const pages = this.windows.map(() => 0);
    for (const block of this.blocks.values()) {
      block.pages.forEach((page, group) => {
        if (page !== undefined) pages[group]!++;
      });
    }
    return {
      blocks: this.blocks.size,
      pages,
      lookups: this.lookupCount,
      hitBlocks: this.hitBlockCount,
      hitTokens: this.hitTokenCount,
      evictions: this.evictionCount,
    };
  }

  /**
   * The longest chain of cached blocks that starts `tokens`, at most `maxBlocks` long, cut back to the longest prefix
   * whose pages each group needs are all held (see the class comment); every block returned counts as used now.
   * Counts one lookup and its hits.
   */
  match(tokens: readonly number[], maxBlocks: number): PrefixBlock[] {
    this.lookupCount++;
    const found: MutableBlock[] = [];
    let parent: MutableBlock | undefined;
    for (let index = 0; index < maxBlocks; index++) {
      const block = this.blocks.get(this.keyOf(parent, tokens, index));
      if (block === undefined) break;
      found.push(block);
      parent = block;
    }
    while (found.length > 0 && !this.holdsTail(found)) found.pop();
    const now = ++this.clock;
    for (const block of found) block.lastUsed = now;
    this.hitBlockCount += found.length;
    this.hitTokenCount += found.length * this.pageSize;
    return found;
  }

  /**
   * The first page (block) index that the layers of group `group` read from position `position` on: 0 for full
   * attention, the page of `position − window + 1` for a windowed group.
   */
  firstReadPage(group: number, position: number): number {
    const window = this.windows[group];
    if (window === undefined) return 0;
    return Math.floor(Math.max(0, position - window + 1) / this.pageSize);
  }

  /**
   * Adds block `index` of `tokens` (after `parent`, the block before it) holding `pages` (one per group). Returns the
   * new block, or undefined when an equal block is already cached (the caller keeps its pages).
   */
  insert(
    parent: PrefixBlock | undefined,
    tokens: readonly number[],
    index: number,
    pages: readonly number[],
  ): PrefixBlock | undefined {
    const key = this.keyOf(parent, tokens, index);
    if (this.blocks.has(key)) return undefined;
    const block: MutableBlock = {
      id: this.nextId++,
      pages: pages.slice(),
      parent,
      key,
      lastUsed: ++this.clock,
      children: 0,
      references: this.windows.map(() => 0),
    };
    if (parent !== undefined) (parent as MutableBlock).children++;
    this.blocks.set(key, block);
    return block;
  }

  /**
   * Gives `block`, which lost its page of group `group` to eviction, the page `page` (an equal page a sequence just
   * wrote); the cache owns it from now on.
   */
  adopt(block: PrefixBlock, group: number, page: number): void {
    (block as MutableBlock).pages[group] = page;
  }

  /** Pages of group `group` that eviction may take now (held by no running sequence; leaves first is not counted). */
  evictablePages(group: number): number {
    let count = 0;
    const whole = this.windows[group] === undefined;
    for (const block of this.blocks.values()) {
      const free = whole
        ? block.references.every((references) => references === 0)
        : block.references[group] === 0 && block.pages[group] !== undefined;
      if (free) count++;
    }
    return count;
  }

  /** Marks the block's page of group `group` as held by one more running sequence's page table (shared in place). */
  pin(block: PrefixBlock, group: number): void {
    (block as MutableBlock).references[group]!++;
  }

  /** Drops one reference taken by {@link PrefixCache.pin}. */
  unpin(block: PrefixBlock, group: number): void {
    const references = (block as MutableBlock).references;
    if (references[group]! > 0) references[group]!--;
  }

  /** The cached block for block `index` of `tokens` after `parent`, if any (no counters change). */
  peek(parent: PrefixBlock | undefined, tokens: readonly number[], index: number): PrefixBlock | undefined {
    return this.blocks.get(this.keyOf(parent, tokens, index));
  }

  /**
   * Frees pages of group `group`, least recently used first: in the full-attention group a whole block that has no
   * children and no page held by a running sequence (every page of it comes back, one per group); in a windowed group
   * the page alone of a block whose page no running sequence holds (a block left with no page and no children goes
   * too). Returns the pages freed, or undefined when there is nothing to evict.
   */
  evictLeastRecentlyUsed(group: number): GroupPage[] | undefined {
    const whole = this.windows[group] === undefined;
    let victim: MutableBlock | undefined;
    for (const block of this.blocks.values()) {
      const candidate = whole
        ? block.children === 0 && block.references.every((references) => references === 0)
        : block.pages[group] !== undefined && block.references[group] === 0;
      if (candidate && (victim === undefined || block.lastUsed < victim.lastUsed)) victim = block;
    }
    if (victim === undefined) return undefined;
    this.evictionCount++;
    if (whole) return this.remove(victim);
    const page = victim.pages[group]!;
    victim.pages[group] = undefined;
    const freed: GroupPage[] = [{ group, page }];
    // A block with nothing left to give (only windowed groups, each page evicted) is dropped with its empty parents.
    let empty: MutableBlock | undefined = victim;
    while (empty !== undefined && empty.children === 0 && empty.pages.every((held) => held === undefined)) {
      const parent = empty.parent as MutableBlock | undefined;
      freed.push(...this.remove(empty));
      empty = parent;
    }
    return freed;
  }

  /** Removes every block; returns their pages. */
  clear(): GroupPage[] {
    const pages = [...this.blocks.values()].flatMap((block) => this.pagesOf(block));
    this.blocks.clear();
    return pages;
  }

  /** Whether every group holds the pages it reads from the end of `chain` on. */
  private holdsTail(chain: readonly MutableBlock[]): boolean {
    return this.windows.every((_, group) => {
      for (let index = this.firstReadPage(group, chain.length * this.pageSize); index < chain.length; index++) {
        if (chain[index]!.pages[group] === undefined) return false;
      }
      return true;
    });
  }

  /** Deletes `block` (a leaf); returns its pages. */
  private remove(block: MutableBlock): GroupPage[] {
    this.blocks.delete(block.key);
    if (block.parent !== undefined) (block.parent as MutableBlock).children--;
    return this.pagesOf(block);
  }

  private pagesOf(block: MutableBlock): GroupPage[] {
    return block.pages.flatMap((page, group) => (page === undefined ? [] : [{ group, page }]));
  }

  private keyOf(parent: PrefixBlock | undefined, tokens: readonly number[], index: number): string {
    const start = index * this.pageSize;
    return `${parent?.id ?? 0}:${tokens.slice(start, start + this.pageSize).join(',')}`;
  }
}
