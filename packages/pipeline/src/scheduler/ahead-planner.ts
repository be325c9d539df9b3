import type { KeyValuePages } from './key-value-pages.js';
import type { ScheduledSequence } from './scheduled-sequence.js';
import type { AheadPlanner } from './step-ahead.js';
import type { StepRow } from './step-executor.js';

/** The queue of a scheduler when a step is launched. */
export interface QueueState {
  /** Sequences waiting for a slot. */
  readonly waiting: number;
  /** Sequences running. */
  readonly running: number;
  /** Sequences that may run at once. */
  readonly parallel: number;
}

/** Whether `row` surely ends `sequence`: the token it chooses is its last allowed one, or fills the context. */
function surelyEnds(sequence: ScheduledSequence | undefined, row: StepRow): boolean {
  if (sequence === undefined || sequence.isFinished) return true;
  if (row.choice === undefined) return false; // a prefill chunk before the last chooses no token
  const { maxTokens, contextLength } = sequence.settings;
  return sequence.generated.length + 1 >= maxTokens || sequence.tokens.length + 1 >= contextLength;
}

/**
 * The scheduler's side of a step launched ahead, for the `active` sequences of the step being launched: which of them
 * surely end with this step's token, and the page each other one writes next, allocated now through `pages` like any
 * page it takes (evicting cached prefix blocks if needed, never preempting: without a free page there is no guess). A
 * page taken ahead is the one the sequence needs next anyway; it stays in its page table and goes back with its other
 * pages when the sequence ends or is preempted. Undefined (no guess) when a waiting sequence joins next: a slot is
 * free, or this step surely frees one, and the joiner's prefill would drop the guess.
 */
export function planAhead(
  active: readonly { readonly sequence: ScheduledSequence; readonly row: StepRow }[],
  pages: KeyValuePages,
  queue: QueueState,
): AheadPlanner | undefined {
  const sequences = new Map(active.map(({ sequence }) => [sequence.id, sequence]));
  const leaving = active.filter(({ sequence, row }) => surelyEnds(sequence, row)).length;
  if (queue.waiting > 0 && queue.running - leaving < queue.parallel) return undefined;
  return {
    leaves: (row) => surelyEnds(sequences.get(row.sequence), row),
    pagesAt(row, position) {
      const sequence = sequences.get(row.sequence);
      if (sequence === undefined || !pages.extend(sequence, position + 1)) return undefined;
      return sequence.tables.map((table) => table.pages.slice());
    },
  };
}
