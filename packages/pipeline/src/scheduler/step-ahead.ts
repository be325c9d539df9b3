import type { AheadRow, LaunchedStep, StepAheadExecutor } from './step-ahead-executor.js';
import type { StepRow, StepRowResult } from './step-executor.js';

/** What the scheduler knows about the step after the one it runs, asked row by row when a step is launched. */
export interface AheadPlanner {
  /** Whether the row's sequence surely ends with the token this step chooses (its last allowed token, the context). */
  leaves(row: StepRow): boolean;
  /**
   * The sequence's page tables holding `position` as well (pages taken now, from the scheduler's own bookkeeping, for
   * the step launched ahead to write), or undefined when they cannot be had without preempting a running sequence.
   */
  pagesAt(row: StepRow, position: number): readonly (readonly number[])[] | undefined;
}

/** Counters of {@link StepAhead}. */
export interface StepAheadCounters {
  /** Steps launched ahead (guesses). */
  readonly launched: number;
  /** Scheduler steps whose forward was a step launched ahead: their rows were exactly the guessed ones, or fewer. */
  readonly used: number;
  /** Steps launched ahead and dropped because the next step was not their continuation. */
  readonly dropped: number;
}

/** What one step brought back. */
export interface AheadStepResult {
  /** The results of the rows, in row order. */
  readonly results: StepRowResult[];
  /** Whether the step's forward had been launched ahead (while the step before it was read back). */
  readonly ahead: boolean;
}

/** A step launched ahead, and the ids it consumed once its source step's results tell them. */
interface Guess {
  readonly step: LaunchedStep;
  readonly rows: readonly AheadRow[];
  /** The id each row consumed (the token its source row chose), known once the source step was read back. */
  inputs: readonly (number | undefined)[];
}

/** Whether a row can be guessed: a decode row (one id) whose token is the argmax of its logits, nothing read back. */
export function canStepAhead(row: StepRow): boolean {
  return row.ids.length === 1 && row.choice?.kind === 'greedy' && row.returnLogits !== true;
}

/** Whether the held pages of `planned` (one table per group) are the guess's at the same entries. */
function samePages(planned: StepRow['pageTables'], guessed: AheadRow['pageTables']): boolean {
  return (
    planned.length === guessed.length &&
    planned.every((table, group) => table.every((page, index) => page < 0 || guessed[group]![index] === page))
  );
}

/**
 * Continuous batching one step ahead, the batched counterpart of `DecodeAhead`: when every row of step N that goes on
 * is a plain greedy decode row, step N + 1 is launched on the device before step N is read back, each row fed with the
 * token the device chose for it, at the next position, with a page taken for it ahead. The host then reads step N
 * back, updates its sequences and plans step N + 1 while the device runs the guess.
 *
 * The guess is a whole step or nothing: the planned step takes its results when every planned row is exactly a
 * guessed row (same sequence, position and id, the same held pages); guessed rows whose sequence left (finished,
 * aborted, preempted) are simply not read. Anything else (a sequence joining, a prefill chunk, a row that is not greedy)
 * drops the guess and runs the planned rows as a normal step: one code path for results, and the rare changes of the
 * row set cost one dropped forward, while sequences leaving, the common change, keep the chain going.
 *
 * A dropped guess cannot corrupt another sequence: it is launched (and submitted) before the scheduler sees step N's
 * results, i.e. before any of the pages it writes can be freed and handed out, and it writes only the position after
 * its sequence's last, in a page the sequence owns then (never a shared prefix page: those lie wholly before it). The
 * device runs steps in launch order, so a page's next owner writes each row after the guess did, and reads only rows it
 * wrote itself.
 */
export class StepAhead {
  private guess: Guess | undefined;
  private counts = { launched: 0, used: 0, dropped: 0 };

  /** Launches steps through `executor`. */
  constructor(private readonly executor: StepAheadExecutor) {}

  /** Guesses launched, used and dropped. */
  get counters(): StepAheadCounters {
    return { ...this.counts };
  }

  /**
   * Runs `rows` (taking the results of the guess when the rows are its continuation) and, when `planner` is given and
   * every row that goes on can be guessed, launches the step after them before awaiting these results.
   */
  async step(rows: readonly StepRow[], planner: AheadPlanner | undefined): Promise<AheadStepResult> {
    const guess = this.guess;
    this.guess = undefined;
    const order = guess === undefined ? undefined : this.match(guess, rows);
    let current: LaunchedStep;
    if (guess !== undefined && order !== undefined) {
      this.counts.used++;
      current = guess.step;
    } else {
      await this.drop(guess);
      if (rows.length === 0) return { results: [], ahead: false };
      current = this.executor.launch(rows);
    }
    let next: Guess | undefined;
    try {
      next = planner === undefined ? undefined : this.launchNext(current, rows, order, planner);
      const results = await current.results;
      if (next !== undefined) {
        next.inputs = next.rows.map((row) => results[row.from]?.token);
        this.guess = next;
        next = undefined;
      }
      return {
        results: order === undefined ? results : order.map((index) => results[index]!),
        ahead: order !== undefined,
      };
    } finally {
      current.release();
      await this.drop(next); // the step failed: its continuation is void
    }
  }

  /** Drops the guess in flight, if any (before the executor is disposed, or when the loop goes idle). */
  async cancel(): Promise<void> {
    const guess = this.guess;
    this.guess = undefined;
    await this.drop(guess);
  }

  /** For each planned row, the index of the guessed row it is; undefined unless every planned row is one. */
  private match(guess: Guess, rows: readonly StepRow[]): number[] | undefined {
    if (rows.length === 0) return undefined;
    const order: number[] = [];
    for (const row of rows) {
      const index = guess.rows.findIndex((guessed) => guessed.sequence === row.sequence);
      const guessed = guess.rows[index];
      if (
        guessed === undefined ||
        !canStepAhead(row) ||
        row.firstPosition !== guessed.firstPosition ||
        row.ids[0] !== guess.inputs[index] ||
        !samePages(row.pageTables, guessed.pageTables)
      ) {
        return undefined;
      }
      order.push(index);
    }
    return order;
  }

  /**
   * Launches the step after `rows` (run by `current`, whose row `order[i]` is `rows[i]`, or row i without `order`):
   * every row that goes on at the next position, fed with its token; undefined when some row that goes on cannot be
   * guessed, its pages cannot be had, or no row goes on.
   */
  private launchNext(
    current: LaunchedStep,
    rows: readonly StepRow[],
    order: readonly number[] | undefined,
    planner: AheadPlanner,
  ): Guess | undefined {
    const going = rows.flatMap((row, index) => (planner.leaves(row) ? [] : [{ row, from: order?.[index] ?? index }]));
    if (going.length === 0 || !going.every(({ row }) => canStepAhead(row))) return undefined;
    const next: AheadRow[] = [];
    for (const { row, from } of going) {
      const position = row.firstPosition + 1;
      const pageTables = planner.pagesAt(row, position);
      if (pageTables === undefined) return undefined; // the pages taken so far are the next ones of their sequences
      next.push({ from, sequence: row.sequence, firstPosition: position, pageTables });
    }
    const step = this.executor.launchAhead(current, next);
    this.counts.launched++;
    return { step, rows: next, inputs: [] };
  }

  private async drop(guess: Guess | undefined): Promise<void> {
    if (guess === undefined) return;
    this.counts.dropped++;
    await guess.step.results.catch(() => {});
    guess.step.release();
  }
}
