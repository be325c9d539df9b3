import { StrataError } from '../errors/strata-error.js';
import type { Backend } from './backend.js';
import type { StepBody, StepPlan } from './step-plan.js';

/** Checks the ids of one run of a plan of `rows` rows. */
export function checkStepIds(ids: Int32Array, rows: number): void {
  if (ids.length !== rows) {
    throw new StrataError('SHAPE_MISMATCH', `This step plan takes ${rows} token ids per run; got ${ids.length}.`, {
      details: { rows, ids: ids.length },
    });
  }
}

/**
 * The {@link StepPlan} of a backend that does not record: each run uploads the ids and calls the body again. What a
 * backend whose ops execute at once (the CPU reference) returns from `captureStep`.
 */
export function createEagerStepPlan(backend: Backend, rows: number, body: StepBody): StepPlan {
  let disposed = false;
  return {
    rows,
    run(ids, firstPosition) {
      if (disposed) throw new StrataError('TENSOR_DISPOSED', 'This step plan was disposed; capture a new one.');
      checkStepIds(ids, rows);
      const input = backend.upload(ids, [rows]);
      const output = body(input, firstPosition);
      if (output !== input) backend.dispose(input);
      return output;
    },
    dispose() {
      disposed = true;
    },
  };
}
