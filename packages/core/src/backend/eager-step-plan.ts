import { StrataError } from '../errors/strata-error.js';
import type { Backend } from './backend.js';
import type { Tensor } from '../tensor/tensor.js';
import type { StepBody, StepPlan } from './step-plan.js';

/** Checks the ids of one run of a plan of `rows` rows: `rows` host ids, or an i32 tensor `[rows]` of the backend. */
export function checkStepIds(ids: Int32Array | Tensor, rows: number): void {
  const count = ids instanceof Int32Array ? ids.length : ids.shape.length === 1 ? ids.shape[0]! : -1;
  if (count !== rows || (!(ids instanceof Int32Array) && ids.dtype !== 'i32')) {
    const what = ids instanceof Int32Array ? `${ids.length} ids` : `a ${ids.dtype} tensor [${ids.shape.join(', ')}]`;
    throw new StrataError('SHAPE_MISMATCH', `This step plan takes ${rows} token ids per run (i32); got ${what}.`, {
      details: { rows, ids: count },
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
    deferred: false,
    run(ids, firstPosition) {
      if (disposed) throw new StrataError('TENSOR_DISPOSED', 'This step plan was disposed; capture a new one.');
      checkStepIds(ids, rows);
      if (!(ids instanceof Int32Array)) return body(ids, firstPosition);
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
