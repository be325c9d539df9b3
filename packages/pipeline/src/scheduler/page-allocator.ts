import { StrataError } from '@strata/core';

/**
 * Hands out the pages of one page group of a KV memory budget. A page holds the keys and values of `pageSize`
 * consecutive tokens for every layer of the group; pages are identified by integers `0 … totalPages − 1`. Allocation is all-or-nothing, so a failed request
 * changes nothing (the scheduler then evicts cached prefixes or preempts a sequence and tries again).
 */
export class PageAllocator {
  /** Pages the budget holds. */
  readonly totalPages: number;
  private readonly freeList: number[];
  private readonly inUse: Uint8Array;

  /** A pool of `totalPages` free pages (an integer ≥ 1). */
  constructor(totalPages: number) {
    if (!Number.isInteger(totalPages) || totalPages < 1) {
      throw new StrataError('INVALID_ARGUMENT', `The KV budget holds ${totalPages} pages; it must hold at least one.`, {
        details: { totalPages },
      });
    }
    this.totalPages = totalPages;
    this.inUse = new Uint8Array(totalPages);
    // Lowest ids first, so a fresh pool hands out 0, 1, 2, …
    this.freeList = Array.from({ length: totalPages }, (_, index) => totalPages - 1 - index);
  }

  /** Pages free now. */
  get freePages(): number {
    return this.freeList.length;
  }

  /** Pages handed out and not freed. */
  get usedPages(): number {
    return this.totalPages - this.freeList.length;
  }

  /** `count` pages, or undefined (and nothing taken) when fewer are free. */
  allocate(count: number): number[] | undefined {
    if (count > this.freeList.length) return undefined;
    const pages = this.freeList.splice(this.freeList.length - count, count).reverse();
    for (const page of pages) this.inUse[page] = 1;
    return pages;
  }

  /** Returns pages to the pool; freeing a page that is not in use throws (a double free is a bug). */
  free(pages: readonly number[]): void {
    for (const page of pages) {
      if (this.inUse[page] !== 1) {
        throw new StrataError('INVALID_ARGUMENT', `Page ${page} is not allocated; it cannot be freed.`, {
          details: { page },
        });
      }
      this.inUse[page] = 0;
      this.freeList.push(page);
    }
  }
}
