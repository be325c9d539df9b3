import type { TokenChoice } from '../sampling/token-sampler.js';

/**
 * One sequence's share of an engine step: its tokens at consecutive positions, its page table, and what to bring back.
 * A decode row carries one token; a prefill row carries a chunk of the prompt.
 */
export interface StepRow {
  /** The sequence's id (stable while it is running; storage keyed by it is released by {@link StepExecutor.release}). */
  readonly sequence: number;
  /** Token ids of this row. */
  readonly ids: Int32Array;
  /** Position of the first id; the sequence's pages hold the positions before it. */
  readonly firstPosition: number;
  /** The sequence's page table: page `pages[i]` holds positions `i · pageSize … (i + 1) · pageSize − 1`. */
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

/**
 * Runs engine steps over the rows of many sequences, each with its own page table into one KV memory pool. The
 * scheduler owns the pages (allocation, sharing, eviction, preemption); an executor owns their storage and the forward.
 * An implementation is free to run the rows as one batched forward or one after another: the scheduler, the API and
 * the server only see this interface.
 */
export interface StepExecutor {
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
   * Whether attention reads pages through the page table, so a prefix-cache block's page can sit in several sequences'
   * page tables at once (zero copy). When false, a sequence that reuses a block gets its own page and `loadPage` copies
   * the block into it, and a published block gets a page of its own filled by `savePage`.
   */
  readonly sharesPages: boolean;
  /** Runs one step over `rows` (at most one row per sequence); results are in row order. */
  step(rows: readonly StepRow[]): Promise<StepRowResult[]>;
  /** Copies the keys and values of the sequence's page `pageIndex` into page `page` (a prefix-cache block; only when not {@link StepExecutor.sharesPages}). */
  savePage(sequence: number, pageIndex: number, pages: readonly number[], page: number): void;
  /** Copies page `page` (a prefix-cache block) into the sequence's page `pageIndex` (only when not {@link StepExecutor.sharesPages}). */
  loadPage(sequence: number, pageIndex: number, pages: readonly number[], page: number): void;
  /** Releases whatever storage the executor keeps for a sequence that finished or was preempted. */
  release(sequence: number): void;
  /** Releases the storage of a page that is no longer cached. */
  releasePage(page: number): void;
  /** Releases everything; the executor cannot run steps afterwards. */
  dispose(): Promise<void>;
}
