import { StrataError } from '../errors/strata-error.js';
import type { Backend } from './backend.js';
import { elementCount, type Tensor } from '../tensor/tensor.js';
import type { StepBody, StepInputShapes, StepPlan } from './step-plan.js';

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
 * Checks the inputs of one run of a plan taking `shapes`: one i32 array per shape, of its element count. Returns the
 * inputs as given (an empty list when the plan takes none and none were given).
 */
export function checkStepInputs(
  inputs: readonly Int32Array[] | undefined,
  shapes: StepInputShapes,
): readonly Int32Array[] {
  const given = inputs ?? [];
  const fits =
    given.length === shapes.length && shapes.every((shape, index) => given[index]!.length === elementCount(shape));
  if (!fits) {
    const expected = shapes.map((shape) => `[${shape.join(', ')}]`).join(', ') || 'none';
    const got = given.map((input) => input.length).join(', ') || 'none';
    throw new StrataError(
      'SHAPE_MISMATCH',
      `This step plan takes i32 inputs of shapes ${expected} beyond its ids; got arrays of ${got} elements.`,
      { details: { expected: shapes, got: given.map((input) => input.length) } },
    );
  }
  return given;
}

/**
 * The {@link StepPlan} of a backend that does not record: each run uploads the ids and inputs and calls the body
 * again. What a backend whose ops execute at once (the CPU reference) returns from `captureStep`.
 */
export function createEagerStepPlan(
  backend: Backend,
  rows: number,
  body: StepBody,
  inputShapes: StepInputShapes = [],
): StepPlan {
  let disposed = false;
  return {
    rows,
    inputShapes,
    deferred: false,
    run(ids, firstPosition, inputs) {
      if (disposed) throw new StrataError('TENSOR_DISPOSED', 'This step plan was disposed; capture a new one.');
      checkStepIds(ids, rows);
      const data = checkStepInputs(inputs, inputShapes);
      const uploaded = data.map((values, index) => backend.upload(values, inputShapes[index]!));
      const input = ids instanceof Int32Array ? backend.upload(ids, [rows]) : ids;
      const output = body(input, firstPosition, uploaded);
      for (const tensor of ids instanceof Int32Array ? [input, ...uploaded] : uploaded) {
        if (tensor !== output) backend.dispose(tensor);
      }
      return output;
    },
    dispose() {
      disposed = true;
    },
  };
}
