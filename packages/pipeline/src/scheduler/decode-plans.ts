import {
  encodePagedBatch,
  type PagedBatch,
  type PagedBatchLayout,
  pagedBatchOf,
  type ScopedBackend,
  type StepPlan,
  type Tensor,
} from '@strata/core';

/** Captured decode steps kept at once (one per row count; the least recently used goes first). */
const MOST_PLANS = 8;

/** What a plan's body runs: the forward of one decode row per sequence over the step's paged batches, to logits. */
export type DecodeForward = (ids: Tensor, batches: readonly PagedBatch[]) => Tensor;

/**
 * The captured decode steps of a batched executor (`Backend.captureStep`), one per row count: a step of B decode rows
 * (one per sequence) replays the plan of B rows, its ids and each page group's index tensors (positions and storage
 * rows, sequence starts, page tables padded to `pagesPerSequence[group]` columns) written as the plan's inputs, so the
 * recording is made once and the host does no per-op work afterwards. On a backend that does not record (the CPU), the
 * body runs each time over the same inputs, uploaded, which keeps the two paths one code path. Plans are made on first
 * use and the least recently used is disposed beyond {@link MOST_PLANS}.
 */
export class DecodePlans {
  private readonly plans = new Map<number, StepPlan>();
  /** The layouts of the run in progress (the body builds its batches from them; a replay reads only the tensors). */
  private layouts: readonly PagedBatchLayout[] = [];

  constructor(
    private readonly backend: ScopedBackend,
    /** Columns of each page group's page tables (every sequence's table fits). */
    private readonly pagesPerSequence: readonly number[],
    private readonly forward: DecodeForward,
  ) {}

  /** Whether a step over `layouts` (one per page group, every sequence one row) fits the plans' page tables. */
  fits(layouts: readonly PagedBatchLayout[]): boolean {
    return layouts.every((layout, group) =>
      layout.sequences.every(
        (sequence) => sequence.rows === 1 && sequence.pages.length <= this.pagesPerSequence[group]!,
      ),
    );
  }

  /**
   * Runs the decode step of `ids` (one per sequence: host ids, or an i32 tensor of the backend such as tokens a step
   * started earlier chose) over `layouts` and returns its logits `[rows, vocabulary]`, valid until the next run of a
   * plan of as many rows: the caller's to dispose.
   */
  run(ids: Int32Array | Tensor, layouts: readonly PagedBatchLayout[]): Tensor {
    const rows = ids instanceof Int32Array ? ids.length : (ids.shape[0] ?? 0);
    const inputs = layouts.flatMap((layout, group) => {
      const data = encodePagedBatch(layout, this.pagesPerSequence[group]);
      return [data.positionsAndSlots, data.sequenceStarts, data.pageTables];
    });
    this.layouts = layouts;
    return this.planOf(rows).run(ids, 0, inputs);
  }

  /** Disposes every plan (their buffers are freed once the work already recorded has run). */
  dispose(): void {
    for (const plan of this.plans.values()) plan.dispose();
    this.plans.clear();
  }

  private planOf(rows: number): StepPlan {
    let plan = this.plans.get(rows);
    if (plan !== undefined) {
      // Most recently used last.
      this.plans.delete(rows);
      this.plans.set(rows, plan);
      return plan;
    }
    const shapes = this.pagesPerSequence.flatMap((width) => [[rows, 2], [rows + 1], [rows, width]]);
    plan = this.backend.captureStep(
      rows,
      (ids, _firstPosition, inputs) =>
        this.forward(
          ids,
          this.layouts.map((layout, group) =>
            pagedBatchOf(layout, this.pagesPerSequence[group]!, {
              positionsAndSlots: inputs[3 * group]!,
              sequenceStarts: inputs[3 * group + 1]!,
              pageTables: inputs[3 * group + 2]!,
            }),
          ),
        ),
      shapes,
    );
    this.plans.set(rows, plan);
    if (this.plans.size > MOST_PLANS) {
      const [oldest, stale] = this.plans.entries().next().value as [number, StepPlan];
      this.plans.delete(oldest);
      stale.dispose();
    }
    return plan;
  }
}
