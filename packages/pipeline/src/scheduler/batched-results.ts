import type { Backend, Tensor } from '@strata/core';
import type { StepRow, StepRowResult } from './step-executor.js';

/** What the end of a batched step needs to know of a row: how many ids it carries and what it asks for. */
export interface ResultRow extends Pick<StepRow, 'choice' | 'returnLogits'> {
  /** Ids (hidden rows) of the row; its last one feeds the lm head. */
  readonly length: number;
}

/** The token choices of a batched step, recorded on the device, and their reads, issued. */
export interface ChosenTokens {
  /**
   * The argmax of every row that ran the lm head (i32 `[rows that want a token or logits]`), when some row is greedy:
   * the caller's to dispose (a step started ahead feeds on it).
   */
  readonly greedy: Tensor | undefined;
  /** For each row, the index of its greedy token in `greedy`; −1 for a row without a greedy choice. */
  readonly greedyIndex: readonly number[];
  /** The rows' results once read back, in row order. */
  readonly results: Promise<StepRowResult[]>;
}

/** Whether a row runs the lm head (it wants a token or logits). */
export function wantsLogits(row: ResultRow): boolean {
  return row.choice !== undefined || row.returnLogits === true;
}

/**
 * Ends a batched step. The lm head runs once over the last row of every step row that wants a token or logits (one
 * mat-mul over those rows, after `gatherRows`), the token choices are recorded on the device (one `argmax` over every
 * row for the greedy ones, a `sampleToken` per sampled row), and the reads are issued together before this returns:
 * the greedy ids, the logits when a row asks for them, one id per sampled row. Without any such row the step is
 * flushed so prefill chunks run. Disposes `hidden` `[rows, width]` and, once read, everything it made but `greedy`.
 */
export function chooseBatchedTokens(
  backend: Backend,
  hidden: Tensor,
  rows: readonly ResultRow[],
  lmHead: (hidden: Tensor) => Tensor,
): ChosenTokens {
  const wanting: number[] = [];
  const lastRows: number[] = [];
  let end = 0;
  rows.forEach((row, index) => {
    end += row.length;
    if (!wantsLogits(row)) return;
    wanting.push(index);
    lastRows.push(end - 1);
  });
  if (wanting.length === 0) {
    backend.dispose(hidden);
    const greedyIndex = rows.map(() => -1);
    return { greedy: undefined, greedyIndex, results: backend.flush().then(() => rows.map(() => ({}))) };
  }
  const last = backend.gatherRows(hidden, lastRows);
  backend.dispose(hidden);
  const logits = lmHead(last);
  backend.dispose(last);
  return chooseFromLogits(backend, logits, rows, wanting);
}

/**
 * The token choices and reads of {@link chooseBatchedTokens} from `logits` `[wanting.length, vocabulary]`: row `at` of
 * `logits` belongs to step row `wanting[at]` (the rows that want a token or logits, in order; every row by default).
 * Disposes `logits` and everything it made but `greedy` once read.
 */
export function chooseFromLogits(
  backend: Backend,
  logits: Tensor,
  rows: readonly ResultRow[],
  wanting: readonly number[] = rows.map((_, index) => index),
): ChosenTokens {
  const greedyIndex = rows.map(() => -1);
  const made: Tensor[] = [logits];
  const greedy = wanting.some((index) => rows[index]!.choice?.kind === 'greedy') ? backend.argmax(logits) : undefined;
  const sampled = wanting.map((index, at) => {
    const choice = rows[index]!.choice;
    if (choice?.kind === 'greedy') greedyIndex[index] = at;
    if (choice?.kind !== 'sample') return undefined;
    const one = backend.sliceRows(logits, at, 1);
    const token = backend.sampleToken(one, choice.parameters);
    backend.dispose(one);
    made.push(token);
    return token;
  });
  const asked = wanting.some((index) => rows[index]!.returnLogits === true);
  // Issued together, now: a recording backend submits the step once and maps the small copies side by side.
  const reads = Promise.all([
    greedy === undefined ? undefined : backend.read(greedy),
    asked ? backend.read(logits) : undefined,
    ...sampled.map((token) => (token === undefined ? undefined : backend.read(token))),
  ]);
  const vocabulary = logits.shape[1] ?? 0;
  const results = reads
    .then(([greedyIds, logitValues, ...sampledIds]) => {
      const results: StepRowResult[] = rows.map(() => ({}));
      wanting.forEach((index, at) => {
        const row = rows[index]!;
        const token = row.choice?.kind === 'sample' ? sampledIds[at]?.[0] : greedyIds?.[at];
        const values =
          row.returnLogits === true && logitValues !== undefined
            ? (logitValues.slice(at * vocabulary, (at + 1) * vocabulary) as Float32Array)
            : undefined;
        results[index] = {
          ...(row.choice === undefined || token === undefined ? {} : { token }),
          ...(values === undefined ? {} : { logits: values }),
        };
      });
      return results;
    })
    .finally(() => {
      for (const tensor of made) backend.dispose(tensor);
    });
  return { greedy, greedyIndex, results };
}
