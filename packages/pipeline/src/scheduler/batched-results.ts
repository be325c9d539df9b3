import type { Backend, Tensor } from '@strata/core';
import type { StepRow, StepRowResult } from './step-executor.js';

/** Whether a row runs the lm head (it wants a token or logits). */
function wantsLogits(row: StepRow): boolean {
  return row.choice !== undefined || row.returnLogits === true;
}

/**
 * Ends a batched step. The lm head runs once over the last row of every step row that wants a token or logits (one
 * mat-mul over those rows, after `gatherRows`), the token choices are recorded on the device (one `argmax` over every
 * row for the greedy ones, a `sampleToken` per sampled row), and the reads are issued together: the greedy ids, the
 * logits when a row asks for them, one id per sampled row. Without any such row the step is flushed so prefill chunks
 * run. Disposes `hidden` `[rows, width]` and everything it makes.
 */
export async function readBatchedResults(
  backend: Backend,
  hidden: Tensor,
  rows: readonly StepRow[],
  lmHead: (hidden: Tensor) => Tensor,
): Promise<StepRowResult[]> {
  const wanting: number[] = [];
  const lastRows: number[] = [];
  let end = 0;
  rows.forEach((row, index) => {
    end += row.ids.length;
    if (!wantsLogits(row)) return;
    wanting.push(index);
    lastRows.push(end - 1);
  });
  if (wanting.length === 0) {
    backend.dispose(hidden);
    await backend.flush();
    return rows.map(() => ({}));
  }
  const last = backend.gatherRows(hidden, lastRows);
  backend.dispose(hidden);
  const logits = lmHead(last);
  backend.dispose(last);
  const made: Tensor[] = [logits];
  try {
    const greedy = wanting.some((index) => rows[index]!.choice?.kind === 'greedy') ? backend.argmax(logits) : undefined;
    if (greedy !== undefined) made.push(greedy);
    const sampled = wanting.map((index, at) => {
      const choice = rows[index]!.choice;
      if (choice?.kind !== 'sample') return undefined;
      const one = backend.sliceRows(logits, at, 1);
      const token = backend.sampleToken(one, choice.parameters);
      backend.dispose(one);
      made.push(token);
      return token;
    });
    const asked = wanting.some((index) => rows[index]!.returnLogits === true);
    // Issued together: a recording backend submits the step once and maps the small copies side by side.
    const [greedyIds, logitValues, ...sampledIds] = await Promise.all([
      greedy === undefined ? undefined : backend.read(greedy),
      asked ? backend.read(logits) : undefined,
      ...sampled.map((token) => (token === undefined ? undefined : backend.read(token))),
    ]);
    const vocabulary = logits.shape[1] ?? 0;
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
  } finally {
    for (const tensor of made) backend.dispose(tensor);
  }
}
