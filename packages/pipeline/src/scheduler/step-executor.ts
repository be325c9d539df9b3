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
   * The sequence's page table: page `pages[i]` holds positions `i · pageSize … (i + 1) · pageSize − 1`; −1 marks a
   * page given back because it fell out of every layer's sliding window ({@link StepExecutorBase.slidingWindow}).
   */
  readonly pages: readonly number[];
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
  /** Bytes of keys and values one page holds across every layer. */
  readonly bytesPerPage: number;
  /**
   * When every layer attends to a sliding window, the largest window: a sequence's pages wholly before position
   * `next − slidingWindow + 1` (`next`: the position it computes next) are never read again, and the scheduler gives
   * them back (−1 in the page table). Undefined when some layer attends to every position.
   */
  readonly slidingWindow?: number;
  /**
   * Sizes the executor's KV storage for the scheduler's budget of `totalPages` pages (ids `0 … totalPages − 1`);
   * called once by the scheduler, before any step.
   */
  reservePages(totalPages: number): void;
  /** Runs one step over `rows` (at most one row per sequence); results are in row order. */
  step(rows: readonly StepRow[]): Promise<StepRowResult[]>;
  /** Releases whatever storage the executor keeps for a sequence that finished or was preempted. */
  release(sequence: number): void;
  /** Releases the storage of a page that is no longer cached. */
  releasePage(page: number): void;
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
