import type { PageAllocator } from './page-allocator.js';
import type { PrefixCache } from './prefix-cache.js';
import type { ScheduledSequence } from './scheduled-sequence.js';

/** Where a sequence's pages go back to: its own pages to the allocator, shared ones to the prefix cache's pins. */
export interface PageHolders {
  /** The pool of the KV budget. */
  readonly allocator: PageAllocator;
  /** The cache whose blocks a sequence pins while its page table holds their pages. */
  readonly prefixCache: PrefixCache;
}

/**
 * Gives back every page the sequence holds: its own pages are freed, the shared ones unpinned (they stay cached), the
 * ones dropped before its window are gone already. Leaves the sequence with an empty page table.
 */
export function returnSequencePages(sequence: ScheduledSequence, holders: PageHolders): void {
  const own = sequence.pages.slice(Math.max(sequence.sharedPages, sequence.droppedPages));
  if (own.length > 0) holders.allocator.free(own);
  for (const block of sequence.pinned.slice(Math.min(sequence.droppedPages, sequence.sharedPages))) {
    holders.prefixCache.unpin(block);
  }
  sequence.pages = [];
  sequence.pinned = [];
  sequence.sharedPages = 0;
  sequence.droppedPages = 0;
}

/**
 * Gives back the pages of `sequence` that fell out of a sliding window of `window` positions that every layer has: its
 * next query, at `computed`, and every later one read positions ≥ `computed − window + 1` only. Own pages are freed,
 * shared ones unpinned (they stay cached for later requests); the page table keeps −1 in their place.
 */
export function dropPagesBeforeWindow(
  sequence: ScheduledSequence,
  window: number,
  pageSize: number,
  holders: PageHolders,
): void {
  const before = Math.floor(Math.max(0, sequence.computed - window + 1) / pageSize);
  for (; sequence.droppedPages < before; sequence.droppedPages++) {
    const index = sequence.droppedPages;
    if (index < sequence.sharedPages) holders.prefixCache.unpin(sequence.pinned[index]!);
    else holders.allocator.free([sequence.pages[index]!]);
    sequence.pages[index] = -1;
  }
}
