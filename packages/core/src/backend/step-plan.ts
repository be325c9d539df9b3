import type { Tensor } from '../tensor/tensor.js';

/**
 * Shapes of the i32 inputs a captured step takes beyond its ids, one per input (a paged step's positions and page
 * tables): each run hands the plan host data of exactly that many elements per input.
 */
export type StepInputShapes = readonly (readonly number[])[];

/**
 * The body of a captured step: computes from `ids` (i32 `[rows]`) at positions `firstPosition …`, and from `inputs`
 * (i32 tensors of the plan's {@link StepInputShapes}, in order), and returns the one tensor the step produces (logits,
 * a hidden state). It may call any op; it must not read tensors back (`read`, `flush`) or upload host data other than
 * through its `ids` and `inputs`, because a backend may record it once and replay it: anything that changes from run
 * to run must come from them (or, for kernels that say how, from `firstPosition`).
 */
export type StepBody = (ids: Tensor, firstPosition: number, inputs: readonly Tensor[]) => Tensor;

/**
 * A forward step captured once and replayed for each new token (see {@link Backend.captureStep}). Replaying skips the
 * per-op work on the CPU: no tensor objects, pool traffic or bind-group lookups, only the recorded dispatches and one
 * small write of the step's ids and position. Both paths compute the same numbers.
 */
export interface StepPlan {
  /** Rows (token ids) every run takes. */
  readonly rows: number;
  /** Shapes of the i32 inputs every run takes beyond the ids (none unless the plan was captured with some). */
  readonly inputShapes: StepInputShapes;
  /**
   * True when {@link StepPlan.run} only records work that the device executes later (WebGPU), so a step started
   * ahead overlaps with the host's work; false when it computes at once (the CPU reference).
   */
  readonly deferred: boolean;
  /**
   * Runs the step for `ids` (length {@link StepPlan.rows}) at positions `firstPosition …` and returns its output. The
   * returned handle is the caller's to dispose; its contents stay valid until the plan's next run. `ids` may be a
   * tensor (i32 `[rows]`) of the plan's backend, such as the token an earlier step chose: the step then takes it on the
   * device, with no read-back in between (decoding ahead). `inputs` holds one array per {@link StepPlan.inputShapes},
   * each of its shape's element count; `SHAPE_MISMATCH` otherwise.
   */
  run(ids: Int32Array | Tensor, firstPosition: number, inputs?: readonly Int32Array[]): Tensor;
  /** Frees everything the plan holds (its activations, uniforms and bind groups); later runs throw. */
  dispose(): void;
}
