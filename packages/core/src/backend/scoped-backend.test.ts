import { describe, expect, it } from 'vitest';
import { StrataError } from '../errors/strata-error.js';
import type { Tensor, WeightTensor } from '../tensor/tensor.js';
import type { Backend } from './backend.js';
import { createEagerStepPlan } from './eager-step-plan.js';
import { createScopedBackend } from './scoped-backend.js';

/** A backend of plain handles that keeps the set of tensors it made and has not had disposed. */
function handleBackend() {
  const alive = new Set<Tensor>();
  const make = (shape: readonly number[], dtype: 'f32' | 'i32' = 'f32'): Tensor => {
    const tensor = { backendName: 'handles', dtype, shape };
    alive.add(tensor);
    return tensor;
  };
  const weight: WeightTensor = { backendName: 'handles', type: 'F32', shape: [2] };
  const backend = {
    name: 'handles',
    upload: (_data: Float32Array, shape: readonly number[]) => make(shape),
    add: (a: Tensor) => make(a.shape),
    reshape: (_tensor: Tensor, shape: readonly number[]) => make(shape),
    splitColumns: (tensor: Tensor, widths: readonly number[]) => widths.map((width) => make([tensor.shape[0]!, width])),
    routeExperts: (logits: Tensor) => ({ experts: make(logits.shape, 'i32'), weights: make(logits.shape) }),
    uploadWeight: async () => weight,
    read: async () => new Float32Array(1),
    dispose(tensor: Tensor | WeightTensor) {
      if ('dtype' in tensor) alive.delete(tensor);
    },
  };
  return { backend: backend as unknown as Backend, alive, weight };
}

describe('createScopedBackend', () => {
  it('a scope disposes every tensor made inside it except what it returns', () => {
    const { backend, alive } = handleBackend();
    const scoped = createScopedBackend(backend);
    const input = scoped.upload(new Float32Array(4), [2, 2]);
    const kept = scoped.scope(() => {
      const sum = scoped.add(input, input);
      const [left, right] = scoped.splitColumns(sum, [1, 1]);
      scoped.routeExperts(left!, { topK: 1, normalize: false });
      scoped.dispose(right!); // disposed by hand inside: not disposed twice
      return scoped.reshape(sum, [4]);
    });
    expect([...alive]).toEqual([input, kept]);
    expect(scoped.liveTensors).toBe(2);
  });

  it('keeps tensors made outside any scope, and weights, and records only while work runs', async () => {
    const { backend, alive, weight } = handleBackend();
    const scoped = createScopedBackend(backend);
    const cache = scoped.upload(new Float32Array(2), [1, 2]);
    expect(await scoped.uploadWeight({ name: 'w', type: 'F32', shape: [2] }, new Uint8Array(8))).toBe(weight);
    const scope = scoped.openScope();
    const token = scope.run(() => scoped.add(cache, cache));
    const between = scoped.add(cache, cache); // not inside run(): not part of the scope
    expect(await scoped.read(token)).toHaveLength(1);
    scope.close();
    scope.close();
    expect(alive.has(token)).toBe(false);
    expect(alive.has(between) && alive.has(cache)).toBe(true);
    expect(() => scope.run(() => 1)).toThrow(StrataError);
  });

  it('nested scopes pass what they keep to the enclosing scope', () => {
    const { backend, alive } = handleBackend();
    const scoped = createScopedBackend(backend);
    const input = scoped.upload(new Float32Array(2), [1, 2]);
    const outer = scoped.scope(() => {
      const inner = scoped.scope(() => scoped.add(scoped.add(input, input), input));
      expect(alive.size).toBe(2);
      return scoped.add(inner, input); // `inner` itself is freed when the outer scope closes
    });
    expect([...alive]).toEqual([input, outer]);
  });

  it('an async step records its ops before the first await; scope() refuses async work', async () => {
    const { backend, alive } = handleBackend();
    const scoped = createScopedBackend(backend);
    const scope = scoped.openScope();
    const values = await scope.run(async () => {
      const made = scoped.add(scoped.upload(new Float32Array(1), [1]), scoped.upload(new Float32Array(1), [1]));
      return scoped.read(made);
    });
    expect(values).toHaveLength(1);
    expect(alive.size).toBe(3);
    scope.close();
    expect(alive.size).toBe(0);
    expect(() => scoped.scope(async () => 1)).toThrow(/synchronous/);
  });

  it('never records an input an op hands back', () => {
    const { backend, alive } = handleBackend();
    const identity = { ...backend, add: (a: Tensor) => a } as Backend;
    const scoped = createScopedBackend(identity);
    const cache = scoped.upload(new Float32Array(2), [1, 2]);
    scoped.scope(() => {
      scoped.add(cache, cache);
    });
    expect(alive.has(cache)).toBe(true);
  });

  it("leaves what a step plan's body makes while capturing to the plan; later eager runs belong to the step", () => {
    const { backend, alive } = handleBackend();
    const planned = {
      ...backend,
      captureStep: (rows: number, body: Parameters<Backend['captureStep']>[1]) =>
        createEagerStepPlan(planned, rows, body),
    } as Backend;
    const scoped = createScopedBackend(planned);
    const plan = scoped.captureStep(1, (ids) => scoped.add(scoped.add(ids, ids), ids));
    const first = scoped.openScope();
    const captured = first.run(() => plan.run(Int32Array.of(1), 0));
    first.close();
    expect(alive.size).toBe(2); // the capture run's intermediate and output: the plan's, untouched by the scope
    scoped.dispose(captured);
    const second = scoped.openScope();
    second.run(() => plan.run(Int32Array.of(1), 1));
    second.close();
    expect(alive.size).toBe(1); // only the capture run's intermediate, which an eager plan leaves to its owner
  });

  it('forwards everything else and wraps once', () => {
    const { backend } = handleBackend();
    const scoped = createScopedBackend(backend);
    expect(scoped.name).toBe('handles');
    expect(scoped.inner).toBe(backend);
    expect(createScopedBackend(scoped)).toBe(scoped);
  });
});
