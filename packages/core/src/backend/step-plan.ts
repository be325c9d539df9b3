import type { Tensor } from '../tensor/tensor.js';

/**
 * The body of a captured step: computes from `ids` (i32 `[rows]`) at positions `firstPosition …` and returns the one
 * tensor the step produces (logits, a hidden state). It may call any op; it must not read tensors back (`read`,
 * `flush`) or upload host data other than through its `ids`, because a backend may record it once and replay it.
 */
export type StepBody = (ids: Tensor, firstPosition: number) => Tensor;

/**
 * A forward step captured once and replayed for each new token (see {@link Backend.captureStep}). Replaying skips the
 * per-op work on the CPU: no tensor objects, pool traffic or bind-group lookups, only the recorded dispatches and one
 * small write of the step's ids and position. Both paths compute the same numbers.
 */
export interface StepPlan {
  /** Rows (token ids) every run takes. */
  readonly rows: number;
  /**
   * True when {@link StepPlan.run} only records work that the device executes later (WebGPU), so a step started
   * ahead overlaps with the host's work; false when it computes at once (the CPU reference).
   */
  readonly deferred: boolean;
  /**
   * Runs the step for `ids` (length {@link StepPlan.rows}) at positions `firstPosition …` and returns its output. The
   * returned handle is the caller's to dispose; its contents stay valid until the plan's next run. `ids` may be a
   * tensor (i32 `[rows]`) of the plan's backend, such as the token an earlier step chose: the step then takes it on the
   * device, with no read-back in between (decoding ahead).
   */
  run(ids: Int32Array | Tensor, firstPosition: number): Tensor;
  /** Frees everything the plan holds (its activations, uniforms and bind groups); later runs throw. */
  dispose(): void;
}
