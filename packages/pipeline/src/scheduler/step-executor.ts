import type { TokenChoice } from '../sampling/token-sampler.js';

/**
 * One sequence's share of an engine step: its tokens at consecutive positions, its page table, and what to bring back.
 * A decode row carries one token; a prefill row carries a chunk of the prompt.
 */
export interface StepRow {
  /** The sequence's id (stable while it is running; storage keyed by it is released by {@link StepExecutorBase.release}). */
  readonly sequence: number;
  /** Token ids of this row. */
  readonly ids: Int32Array;
  /** Position of the first id; the sequence's pages hold the positions before it. */
  readonly firstPosition: number;
  /**
   * The sequence's page tables, one per page group ({@link StepExecutorBase.pageGroups}, same order): page
   * `pageTables[g][i]` of group g holds positions `i · pageSize … (i + 1) · pageSize − 1` of the group's layers; −1
   * marks a page of a windowed group given back because it fell out of the group's window (or never held, for
   * positions before the window of a reused prefix).
   */
  readonly pageTables: readonly (readonly number[])[];
  /** When set, a token is chosen from the row's last logits (on the device) and its id read back. */
  readonly choice?: TokenChoice;
  /** When true, the row's last logits are read back too. */
  readonly returnLogits?: boolean;
}

/** What a step brings back for one row. */
export interface StepRowResult {
  /** The chosen token, when the row had a `choice`. */
  readonly token?: number;
  /** The row's last logits, when `returnLogits` was set. */
  readonly logits?: Float32Array;
}

/**
 * Layers whose keys and values live in pages of their own, with one page table per sequence: the full-attention
 * layers, or the layers of one sliding window. A page of a group holds `pageSize` positions of the group's layers
 * only, so a windowed group's pages can be given back once they fall out of its window while the full-attention
 * group keeps every position.
 */
export interface PageGroup {
  /**
   * The sliding window of every layer of the group: a sequence's pages wholly before position `next − window + 1`
   * (`next`: the position it computes next) are never read again and the scheduler gives them back (−1 in the page
   * table). Undefined for the group of full-attention layers, which keeps every page.
   */
  readonly window: number | undefined;
  /** Bytes of keys and values one page of the group holds across the group's layers, as the executor stores them. */
  readonly bytesPerPage: number;
}

/** What every step executor offers (see {@link StepExecutor}). */
export interface StepExecutorBase {
  /** Logit columns. */
  readonly vocabularySize: number;
  /** Tokens one sequence may hold (prompt and generated). */
  readonly contextLength: number;
  /** Most ids one row may carry. */
  readonly chunkSize: number;
  /** Tokens per page. */
  readonly pageSize: number;
  /**
   * The page groups (at least one): each row carries one page table per group, in this order. At most one group has
   * no window (the full-attention layers); the others each hold the layers of one window.
   */
  readonly pageGroups: readonly PageGroup[];
  /**
   * Sizes the executor's KV storage for the scheduler's budget: `pages[g]` pages of group g (ids `0 … pages[g] − 1`);
   * called once by the scheduler, before any step.
   */
  reservePages(pages: readonly number[]): void;
  /** Runs one step over `rows` (at most one row per sequence); results are in row order. */
  step(rows: readonly StepRow[]): Promise<StepRowResult[]>;
  /** Releases whatever storage the executor keeps for a sequence that finished or was preempted. */
  release(sequence: number): void;
  /** Releases the storage of page `page` of group `group`, which is no longer cached. */
  releasePage(group: number, page: number): void;
  /** Releases everything; the executor cannot run steps afterwards. */
  dispose(): Promise<void>;
}

/**
 * An executor whose attention reads pages through the page table, so a prefix-cache block's page can sit in several
 * sequences' page tables at once (zero copy).
 */
export interface PageSharingExecutor extends StepExecutorBase {
  /** Pages are read in place: a reused block's page goes straight into the page table. */
  readonly sharesPages: true;
}

/**
 * An executor whose sequences keep storage of their own: a sequence that reuses a prefix-cache block gets its own page
 * and `loadPage` copies the block into it, and a published block gets a page of its own filled by `savePage`.
 */
export interface PageCopyingExecutor extends StepExecutorBase {
  /** Pages are copied in and out of each sequence's storage. */
  readonly sharesPages: false;
  /**
   * One group of every layer, without a window: a sequence's own storage holds what its layers need (windowed layers
   * in rings of their own), so the pages only count its positions, and a block is copied whole.
   */
  readonly pageGroups: readonly [PageGroup & { readonly window: undefined }];
  /** Copies the keys and values of the sequence's page `pageIndex` into page `page` (a prefix-cache block). */
  savePage(sequence: number, pageIndex: number, pages: readonly number[], page: number): void;
  /** Copies page `page` (a prefix-cache block) into the sequence's page `pageIndex`. */
  loadPage(sequence: number, pageIndex: number, pages: readonly number[], page: number): void;
}

/**
 * Runs engine steps over the rows of many sequences, each with its own page table into one KV memory pool. The
 * scheduler owns the pages (allocation, sharing, eviction, preemption); an executor owns their storage and the forward.
 * An implementation is free to run the rows as one batched forward or one after another: the scheduler, the API and
 * the server only see this interface. `sharesPages` tells the two kinds of page storage apart.
 */
export type StepExecutor = PageSharingExecutor | PageCopyingExecutor;
