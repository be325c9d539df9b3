import { PageAllocator } from './page-allocator.js';
import { type GroupPage, type PrefixBlock, PrefixCache } from './prefix-cache.js';
import { publishPromptPages } from './publish-prompt-pages.js';
import type { ScheduledSequence } from './scheduled-sequence.js';
import type { PageGroupMetrics } from './scheduler-options.js';
import { dropPagesBeforeWindow, type PageHolders, PageTable, returnSequencePages } from './sequence-pages.js';
import type { StepExecutor } from './step-executor.js';

/**
 * The KV pages of a scheduler: one pool of pages per page group of the executor (the full-attention layers, each
 * sliding window), the prefix cache over them, and what each sequence's page tables (one per group) take and give
 * back. A full-attention group keeps every position of a sequence; a windowed group holds only the pages its window
 * reads, plus the one a step writes: the rest are given back as the sequence advances. Allocation is all-or-nothing
 * over the groups, evicting cached prefix pages least recently used first; preemption is the scheduler's.
 */
export class KeyValuePages {
  /** Tokens per page. */
  readonly pageSize: number;
  /** The pool of each page group. */
  readonly allocators: readonly PageAllocator[];
  /** The blocks of cached prompt prefixes (a page per group each). */
  readonly prefixCache: PrefixCache;
  private readonly holders: PageHolders;

  /** Pools of `groupPages[g]` pages for the executor's groups (and sizes the executor's storage to them). */
  constructor(
    private readonly executor: StepExecutor,
    groupPages: readonly number[],
  ) {
    this.pageSize = executor.pageSize;
    this.allocators = groupPages.map((pages) => new PageAllocator(pages));
    this.prefixCache = new PrefixCache(
      this.pageSize,
      executor.pageGroups.map((group) => group.window),
    );
    this.holders = { allocators: this.allocators, prefixCache: this.prefixCache };
    executor.reservePages(groupPages);
  }

  /** Gauges of each group. */
  get groupMetrics(): PageGroupMetrics[] {
    const cached = this.prefixCache.counters.pages;
    return this.executor.pageGroups.map((group, index) => {
      const allocator = this.allocators[index]!;
      return {
        window: group.window,
        bytesPerPage: group.bytesPerPage,
        totalPages: allocator.totalPages,
        usedPages: allocator.usedPages,
        freePages: allocator.freePages,
        cachedPages: cached[index]!,
      };
    });
  }

  /**
   * Gives `sequence` page tables to start from its `matched` prefix-cache blocks (`sequence.computed` is then
   * `matched.length · pageSize`): in each group the matched pages its layers read (shared in place and pinned, or
   * copied into own pages by a copying executor), −1 before a window, and own pages for the rest of its known tokens
   * (full attention: all of them, so the prefill never waits for pages) or, in a windowed group, for its first chunk
   * (later ones take the pages the window frees). False, with nothing taken, when the pools cannot give them.
   */
  admit(sequence: ScheduledSequence, matched: readonly PrefixBlock[]): boolean {
    const { executor, pageSize, prefixCache } = this;
    const tokens = sequence.tokens.length;
    const known = Math.ceil(tokens / pageSize);
    const firstChunk = Math.ceil(Math.min(tokens, matched.length * pageSize + executor.chunkSize) / pageSize);
    const tables = executor.pageGroups.map(() => new PageTable());
    const pinned: [PrefixBlock, number][] = [];
    // Shared pages are pinned first, so that evictions for the own pages cannot take them.
    const counts = executor.pageGroups.map((group, index) => {
      const table = tables[index]!;
      if (!executor.sharesPages) {
        for (const block of matched) pinned.push([block, index]);
        return known;
      }
      const from = prefixCache.firstReadPage(index, matched.length * pageSize);
      for (let entry = 0; entry < from; entry++) table.pushDropped();
      for (const block of matched.slice(from)) {
        table.pushShared(block, block.pages[index]!);
        pinned.push([block, index]);
      }
      return (group.window === undefined ? known : firstChunk) - matched.length;
    });
    for (const [block, group] of pinned) prefixCache.pin(block, group);
    const pages = this.allocateGroups(counts);
    if (pages === undefined || !executor.sharesPages) {
      for (const [block, group] of pinned) prefixCache.unpin(block, group);
    }
    if (pages === undefined) return false;
    pages.forEach((own, group) => {
      for (const page of own) tables[group]!.pushOwn(page);
    });
    if (!executor.sharesPages) {
      for (const [index, block] of matched.entries()) {
        executor.loadPage(sequence.id, index, tables[0]!.pages, block.pages[0]!);
      }
    }
    sequence.tables = tables;
    return true;
  }

  /**
   * Extends the sequence's page tables to hold positions up to `end` (a step from `sequence.computed`): own pages for
   * the new entries, −1 for any a window never reads. False, with nothing taken, when the pools cannot give them.
   */
  extend(sequence: ScheduledSequence, end: number): boolean {
    const { pageSize, prefixCache } = this;
    const target = Math.ceil(end / pageSize);
    const counts = sequence.tables.map((table, group) => {
      const from = prefixCache.firstReadPage(group, sequence.computed);
      while (table.pages.length < Math.min(from, target)) table.pushDropped();
      return Math.max(0, target - table.pages.length);
    });
    if (counts.every((count) => count === 0)) return true;
    const pages = this.allocateGroups(counts);
    if (pages === undefined) return false;
    pages.forEach((own, group) => {
      for (const page of own) sequence.tables[group]!.pushOwn(page);
    });
    return true;
  }

  /**
   * After a step that wrote positions `[before, sequence.computed)`: publishes the full prompt pages it wrote as
   * prefix-cache blocks (when `publish`), then gives back the pages that fell out of each windowed group's window.
   */
  advance(sequence: ScheduledSequence, before: number, publish: boolean): void {
    const { executor, pageSize } = this;
    if (publish) {
      publishPromptPages(sequence, before, sequence.computed, {
        cache: this.prefixCache,
        allocators: this.allocators,
        executor,
      });
    }
    executor.pageGroups.forEach((group, index) => {
      const table = sequence.tables[index];
      if (group.window === undefined || table === undefined) return;
      dropPagesBeforeWindow(table, index, group.window, sequence.computed, pageSize, this.holders);
    });
  }

  /** Gives back every page the sequence holds (own pages freed, shared ones unpinned). */
  release(sequence: ScheduledSequence): void {
    returnSequencePages(sequence, this.holders);
  }

  /** Empties the prefix cache, freeing its pages. */
  clear(): void {
    this.dropCached(this.prefixCache.clear());
  }

  /** `counts[g]` pages of each group g, or undefined (and nothing taken) when some group cannot give them. */
  private allocateGroups(counts: readonly number[]): number[][] | undefined {
    const taken: number[][] = [];
    for (const [group, count] of counts.entries()) {
      const pages = this.allocate(group, count);
      if (pages === undefined) {
        for (const [index, own] of taken.entries()) this.allocators[index]!.free(own);
        return undefined;
      }
      taken.push(pages);
    }
    return taken;
  }

  /** `count` pages of `group`, evicting cached prefix pages least recently used first as needed. */
  private allocate(group: number, count: number): number[] | undefined {
    const allocator = this.allocators[group]!;
    for (;;) {
      const pages = allocator.allocate(count);
      if (pages !== undefined) return pages;
      if (allocator.freePages + this.prefixCache.evictablePages(group) < count) return undefined;
      const freed = this.prefixCache.evictLeastRecentlyUsed(group);
      if (freed === undefined) return undefined;
      this.dropCached(freed);
    }
  }

  /** Frees pages a prefix cache gave back (their storage too). */
  private dropCached(pages: readonly GroupPage[]): void {
    for (const { group, page } of pages) {
      this.executor.releasePage(group, page);
      this.allocators[group]!.free([page]);
    }
  }
}
