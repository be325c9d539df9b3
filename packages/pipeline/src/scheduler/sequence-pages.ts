import type { PageAllocator } from './page-allocator.js';
import type { PrefixBlock, PrefixCache } from './prefix-cache.js';
import type { ScheduledSequence } from './scheduled-sequence.js';

/**
 * One of a sequence's page tables (one per page group): entry i holds positions `i · pageSize …` of the group's
 * layers. An entry is the sequence's own page, a prefix-cache block's page shared in place (pinned in this group
 * while the table holds it), or −1: given back because it fell out of the group's window, or never held (before the
 * window of a reused prefix).
 */
export class PageTable {
  /** Page ids of the group, −1 for an entry not held. */
  readonly pages: number[] = [];
  /** For each entry that shares a block's page, the block (pinned in this group); undefined for own pages. */
  readonly shared: (PrefixBlock | undefined)[] = [];
  /** Leading entries not held (every entry before it is −1). */
  dropped = 0;

  /** Appends an entry holding the sequence's own page `page`. */
  pushOwn(page: number): void {
    this.pages.push(page);
    this.shared.push(undefined);
  }

  /** Appends an entry that shares `block`'s page `page` (the caller pinned it). */
  pushShared(block: PrefixBlock, page: number): void {
    this.pages.push(page);
    this.shared.push(block);
  }

  /** Appends an entry not held (−1): before the window of the group, never read. */
  pushDropped(): void {
    this.pages.push(-1);
    this.shared.push(undefined);
    if (this.dropped === this.pages.length - 1) this.dropped = this.pages.length;
  }
}

/** Where a sequence's pages go back to: its own pages to their group's allocator, shared ones to the cache's pins. */
export interface PageHolders {
  /** The pool of each page group. */
  readonly allocators: readonly PageAllocator[];
  /** The cache whose blocks a sequence pins while its page tables hold their pages. */
  readonly prefixCache: PrefixCache;
}

/** Gives back entry `index` of `table` (group `group`): its own page freed, a shared one unpinned; −1 afterwards. */
function giveBack(table: PageTable, group: number, index: number, holders: PageHolders): void {
  const page = table.pages[index]!;
  const block = table.shared[index];
  if (block !== undefined) holders.prefixCache.unpin(block, group);
  else if (page >= 0) holders.allocators[group]!.free([page]);
  table.pages[index] = -1;
  table.shared[index] = undefined;
}

/**
 * Gives back every page the sequence holds in every group: its own pages are freed, the shared ones unpinned (they
 * stay cached), the ones dropped before a window are gone already. Leaves the sequence without page tables.
 */
export function returnSequencePages(sequence: ScheduledSequence, holders: PageHolders): void {
  sequence.tables.forEach((table, group) => {
    for (let index = table.dropped; index < table.pages.length; index++) giveBack(table, group, index, holders);
  });
  sequence.tables = [];
}

/**
 * Gives back the pages of `table` (group `group`, whose layers attend to a sliding window of `window` positions) that
 * fell out of the window of a sequence that computes position `next` next: that query and every later one read
 * positions ≥ `next − window + 1` only. Own pages are freed, shared ones unpinned (they stay cached for later
 * requests); the table keeps −1 in their place.
 */
export function dropPagesBeforeWindow(
  table: PageTable,
  group: number,
  window: number,
  next: number,
  pageSize: number,
  holders: PageHolders,
): void {
  const before = Math.min(table.pages.length, Math.floor(Math.max(0, next - window + 1) / pageSize));
  for (; table.dropped < before; table.dropped++) giveBack(table, group, table.dropped, holders);
}
