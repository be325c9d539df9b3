import type { Tensor } from '@strata/core';
import type { StepExecutor, StepRow, StepRowResult } from './step-executor.js';

/**
 * A step recorded on the device whose results are on their way (see {@link StepAheadExecutor}). It keeps its greedy
 * tokens on the device, so a step launched ahead can feed on them, until {@link LaunchedStep.release}.
 */
export interface LaunchedStep {
  /** The rows' results once read back, in row order (as {@link StepExecutorBase.step} gives them). */
  readonly results: Promise<StepRowResult[]>;
  /**
   * The tokens the greedy rows chose, on the device (i32, one per row that ran the lm head); undefined when no row is
   * greedy. Owned by the step until it is released.
   */
  readonly greedyTokens: Tensor | undefined;
  /** For each row, the index of its token in `greedyTokens`; −1 for a row without a greedy choice. */
  readonly greedyIndex: readonly number[];
  /**
   * Frees the greedy tokens. Call it once every step launched ahead of this one is launched (their recording copied
   * the tokens), normally after its results came in; calling it twice does nothing.
   */
  release(): void;
}

/**
 * One row of a step launched ahead: a decode row (one id, greedy choice, no logits) of a sequence at `firstPosition`,
 * whose id is the token its source step chose on the device for row `from`: the step runs without that token being
 * read back first.
 */
export interface AheadRow {
  /** The row of the source step whose greedy token is this row's id. */
  readonly from: number;
  /** The sequence's id. */
  readonly sequence: number;
  /** Position of the row's id. */
  readonly firstPosition: number;
  /** The sequence's page tables, one per page group; they hold `firstPosition` already. */
  readonly pageTables: readonly (readonly number[])[];
}

/**
 * An executor that can record a step before the previous one is read back (continuous batching one step ahead, the
 * scheduler's `StepAhead`): `launch` records a step and issues its reads without awaiting them, `launchAhead` records
 * the next step of some of its greedy rows, fed on the device with the tokens they chose. The device runs steps in the
 * order they are launched, so whatever a step launched ahead writes lands before anything a later step writes.
 */
export interface StepAheadExecutor {
  /**
   * True when launching only records work the device runs later (WebGPU), so a step launched ahead overlaps the
   * host's work; false when it computes at once (the CPU), where stepping ahead changes the order of work, not its
   * amount (and a dropped guess is work lost).
   */
  readonly deferred: boolean;
  /** Records a step over `rows` (as {@link StepExecutorBase.step}) and issues its reads; nothing is awaited. */
  launch(rows: readonly StepRow[]): LaunchedStep;
  /**
   * Records a step over `rows`, each a decode row fed with the greedy token `source` chose for its row `from` (which
   * must be greedy, and `source` not yet released), and issues its reads. Every result carries the row's token.
   */
  launchAhead(source: LaunchedStep, rows: readonly AheadRow[]): LaunchedStep;
}

/** Whether `executor` can launch steps ahead ({@link StepAheadExecutor}). */
export function supportsStepAhead<E extends StepExecutor>(executor: E): executor is E & StepAheadExecutor {
  const candidate = executor as Partial<StepAheadExecutor>;
  return typeof candidate.launch === 'function' && typeof candidate.launchAhead === 'function';
}
