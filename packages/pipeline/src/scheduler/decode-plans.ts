import {
  encodePagedBatch,
  type PagedBatch,
  type PagedBatchLayout,
  pagedBatchOf,
  pagedBatchShapes,
  type ScopedBackend,
  type StepPlan,
  type Tensor,
} from '@strata/core';

/** Captured decode steps kept at once (one per row count and table width; the least recently used goes first). */
const MOST_PLANS = 16;

/** Fewest keys a plan's page tables cover: shorter sequences share the plan of this many. */
const FEWEST_KEYS = 64;

/** What a plan's body runs: the forward of one decode row per sequence over the step's paged batches, to logits. */
export type DecodeForward = (ids: Tensor, batches: readonly PagedBatch[]) => Tensor;

/**
 * The captured decode steps of a batched executor (`Backend.captureStep`): a step of B decode rows (one per sequence)
 * replays the plan of B rows and its page tables' width, its ids and each page group's index tensors (positions and
 * storage rows, sequence starts, page tables) written as the plan's inputs, so the recording is made once and the host
 * does no per-op work afterwards. A table's width is the longest table's key count rounded up to a power of two (at
 * least {@link FEWEST_KEYS} keys, at most the context): a captured paged attention plans its key splits for that
 * width, so short sequences do not pay for splits sized for the whole context, and a sequence growing by one token
 * moves to the next plan only each time its keys double. On a backend that does not record (the CPU) the body runs each
 * time over the same inputs, uploaded, which keeps the two paths one code path. Plans are made on first use and the
 * least recently used is disposed beyond {@link MOST_PLANS}.
 */
export class DecodePlans {
  private readonly plans = new Map<string, StepPlan>();
  /** The layouts of the run in progress (the body builds its batches from them; a replay reads only the tensors). */
  private layouts: readonly PagedBatchLayout[] = [];

  constructor(
    private readonly backend: ScopedBackend,
    /** Most columns of each page group's page tables (every sequence's table fits). */
    private readonly mostPages: readonly number[],
    private readonly forward: DecodeForward,
  ) {}

  /** Whether a step over `layouts` (one per page group) has one row per sequence, each table within the most pages. */
  fits(layouts: readonly PagedBatchLayout[]): boolean {
    return layouts.every((layout, group) =>
      layout.sequences.every((sequence) => sequence.rows === 1 && sequence.pages.length <= this.mostPages[group]!),
    );
  }

  /** Columns of the page tables of a plan for `layout` of group `group`: see {@link DecodePlans}. */
  widthOf(layout: PagedBatchLayout, group: number): number {
    const longest = Math.max(...layout.sequences.map((sequence) => sequence.pages.length));
    const keys = Math.max(FEWEST_KEYS, 2 ** Math.ceil(Math.log2(Math.max(1, longest * layout.pageSize))));
    return Math.min(this.mostPages[group]!, Math.ceil(keys / layout.pageSize));
  }

  /**
   * Runs the decode step of `ids` (one per sequence: host ids, or an i32 tensor of the backend such as tokens a step
   * started earlier chose) over `layouts` and returns its logits `[rows, vocabulary]`, valid until the next run of the
   * same plan: the caller's to dispose.
   */
  run(ids: Int32Array | Tensor, layouts: readonly PagedBatchLayout[]): Tensor {
    const rows = ids instanceof Int32Array ? ids.length : (ids.shape[0] ?? 0);
    const widths = layouts.map((layout, group) => this.widthOf(layout, group));
    const inputs = layouts.flatMap((layout, group) => {
      const data = encodePagedBatch(layout, widths[group]);
      return [data.positionsAndSlots, data.sequenceStarts, data.pageTables];
    });
    this.layouts = layouts;
    return this.planOf(rows, widths).run(ids, 0, inputs);
  }

  /** Disposes every plan (their buffers are freed once the work already recorded has run). */
  dispose(): void {
    for (const plan of this.plans.values()) plan.dispose();
    this.plans.clear();
  }

  private planOf(rows: number, widths: readonly number[]): StepPlan {
    const key = `${rows}:${widths.join(',')}`;
    let plan = this.plans.get(key);
    if (plan !== undefined) {
      // Most recently used last.
      this.plans.delete(key);
      this.plans.set(key, plan);
      return plan;
    }
    // One row per sequence: `rows` sequences.
    const shapes = widths.flatMap((width) => pagedBatchShapes(rows, rows, width));
    plan = this.backend.captureStep(
      rows,
      (ids, _firstPosition, inputs) =>
        this.forward(
          ids,
          this.layouts.map((layout, group) =>
            pagedBatchOf(layout, widths[group]!, {
              positionsAndSlots: inputs[3 * group]!,
              sequenceStarts: inputs[3 * group + 1]!,
              pageTables: inputs[3 * group + 2]!,
            }),
          ),
        ),
      shapes,
    );
    this.plans.set(key, plan);
    if (this.plans.size > MOST_PLANS) {
      const [oldest, stale] = this.plans.entries().next().value as [string, StepPlan];
      this.plans.delete(oldest);
      stale.dispose();
    }
    return plan;
  }
}
