import { describe, expect, it } from 'vitest';
import type { Tensor } from '../tensor/tensor.js';
import type { Backend } from './backend.js';
import { createEagerStepPlan } from './eager-step-plan.js';

/** A backend stand-in that keeps uploads' host data and which tensors were disposed. */
function stubBackend() {
  const data = new Map<Tensor, Int32Array>();
  const disposed = new Set<Tensor>();
  const backend = {
    upload(values: Int32Array, shape: readonly number[]): Tensor {
      const tensor: Tensor = { backendName: 'test', dtype: 'i32', shape };
      data.set(tensor, values.slice());
      return tensor;
    },
    dispose(tensor: Tensor) {
      disposed.add(tensor);
    },
  } as unknown as Backend;
  return { backend, data, disposed };
}

describe('createEagerStepPlan', () => {
  it("hands each run's inputs to the body as tensors of the declared shapes and frees them after", () => {
    const { backend, data, disposed } = stubBackend();
    const output: Tensor = { backendName: 'test', dtype: 'f32', shape: [1] };
    const seen: { shape: readonly number[]; values: number[] }[][] = [];
    const plan = createEagerStepPlan(
      backend,
      2,
      (_ids, _position, inputs) => {
        seen.push(inputs.map((input) => ({ shape: input.shape, values: Array.from(data.get(input)!) })));
        return output;
      },
      [[2, 2], [3]],
    );
    expect(plan.inputShapes).toEqual([[2, 2], [3]]);
    expect(plan.run(Int32Array.of(7, 8), 0, [Int32Array.of(1, 2, 3, 4), Int32Array.of(5, 6, 7)])).toBe(output);
    expect(seen[0]).toEqual([
      { shape: [2, 2], values: [1, 2, 3, 4] },
      { shape: [3], values: [5, 6, 7] },
    ]);
    // The ids and both inputs were uploaded for the run and freed once it returned.
    expect(disposed.size).toBe(3);
    expect(disposed.has(output)).toBe(false);
  });

  it('refuses inputs that do not match the declared shapes', () => {
    const { backend } = stubBackend();
    const plan = createEagerStepPlan(backend, 1, (ids) => ids, [[2]]);
    const mismatch = expect.objectContaining({ code: 'SHAPE_MISMATCH' });
    expect(() => plan.run(Int32Array.of(1), 0)).toThrowError(mismatch);
    expect(() => plan.run(Int32Array.of(1), 0, [Int32Array.of(1, 2, 3)])).toThrowError(mismatch);
    expect(() => plan.run(Int32Array.of(1), 0, [Int32Array.of(1, 2), Int32Array.of(1)])).toThrowError(mismatch);
  });
});
