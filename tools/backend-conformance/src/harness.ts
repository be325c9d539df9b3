import type { Backend, Tensor, WeightTensor, WeightType } from '@strata/core';
import { StrataError, type StrataErrorCode } from '@strata/core';
import { expect, onTestFinished } from 'vitest';
import { SeededRandom } from './random.js';
import { CONFORMANCE_TOLERANCES, type ConformanceOp, type Tolerance } from './tolerances.js';
import { randomWeightBytes } from './weights.js';

/** What every case gets: the backend under test, the CPU reference, and the tolerances in force. */
export interface ConformanceContext {
  /** The backend under test (valid inside tests, after the suite's `beforeAll`). */
  backend(): Backend;
  /** The CPU reference backend. */
  readonly reference: Backend;
  /** Tolerance of an op: the defaults with the suite's overrides. */
  tolerance(op: ConformanceOp): Tolerance;
}

/** Builds the default context over a lazily created backend. */
export function createContext(
  backend: () => Backend,
  reference: Backend,
  overrides: Partial<Record<ConformanceOp, Tolerance>> = {},
): ConformanceContext {
  return {
    backend,
    reference,
    tolerance: (op) => overrides[op] ?? CONFORMANCE_TOLERANCES[op],
  };
}

/** Computes the same thing on a backend: gets the backend and returns one or several tensors (or none). */
export type Computation = (backend: Backend) => Promise<Tensor | readonly Tensor[]> | Tensor | readonly Tensor[];

async function readAll(backend: Backend, output: Tensor | readonly Tensor[]): Promise<(Float32Array | Int32Array)[]> {
  const tensors = Array.isArray(output) ? (output as readonly Tensor[]) : [output as Tensor];
  const results: (Float32Array | Int32Array)[] = [];
  for (const tensor of tensors) results.push(await backend.read(tensor));
  return results;
}

/**
 * Checks `actual` against `expected` element by element; on failure the message names the op, the case, the worst
 * element and its values. i32 data compares exactly.
 */
export function expectClose(
  actual: Float32Array | Int32Array,
  expected: Float32Array | Int32Array,
  tolerance: Tolerance,
  label: string,
): void {
  expect(actual.length, `${label}: element count`).toBe(expected.length);
  expect(actual.constructor.name, `${label}: dtype`).toBe(expected.constructor.name);
  const exact = expected instanceof Int32Array;
  let worst = -1;
  let worstExcess = 0;
  let failures = 0;
  for (let index = 0; index < expected.length; index++) {
    const actualValue = actual[index]!;
    const expectedValue = expected[index]!;
    if (Object.is(actualValue, expectedValue) || (Number.isNaN(actualValue) && Number.isNaN(expectedValue))) continue;
    const allowed = exact ? 0 : tolerance.absolute + tolerance.relative * Math.abs(expectedValue);
    const error = Math.abs(actualValue - expectedValue);
    if (!(error <= allowed)) {
      failures++;
      const excess = Number.isFinite(error) ? error - allowed : Number.POSITIVE_INFINITY;
      if (worst < 0 || excess > worstExcess) {
        worst = index;
        worstExcess = excess;
      }
    }
  }
  if (failures > 0) {
    expect.fail(
      `${label}: ${failures} of ${expected.length} elements differ beyond ±(${tolerance.absolute} + ${tolerance.relative}·|expected|); ` +
        `worst at ${worst}: got ${actual[worst]}, reference ${expected[worst]}`,
    );
  }
}

/** Methods whose results are not new storage: views (`reshape`) and host reads. */
const UNTRACKED = new Set(['reshape', 'read', 'flush', 'dispose']);

/**
 * Wraps a backend so that every tensor and weight it creates is disposed by `release()` (views from `reshape` and
 * tensors the computation disposed itself excepted), so a GPU backend gets its memory back after each comparison.
 */
export function trackAllocations(backend: Backend): { readonly backend: Backend; release(): void } {
  const created: (Tensor | WeightTensor)[] = [];
  const disposed = new Set<unknown>();
  const record = (value: unknown): void => {
    if (Array.isArray(value)) {
      for (const item of value) record(item);
    } else if (typeof value === 'object' && value !== null) {
      if ('backendName' in value) created.push(value as Tensor | WeightTensor);
      else if ('experts' in value && 'weights' in value) {
        record((value as { experts: unknown }).experts);
        record((value as { weights: unknown }).weights);
      }
    }
  };
  const tracked = new Proxy(backend, {
    get(target, key) {
      const member = Reflect.get(target, key, target) as unknown;
      if (typeof member !== 'function') return member;
      return (...args: unknown[]) => {
        if (key === 'dispose') disposed.add(args[0]);
        const result = (member as (...values: unknown[]) => unknown).apply(target, args);
        if (UNTRACKED.has(String(key))) return result;
        if (result instanceof Promise) {
          return result.then((value) => {
            record(value);
            return value;
          });
        }
        record(result);
        return result;
      };
    },
  });
  return {
    backend: tracked,
    release() {
      for (const item of created.reverse()) if (!disposed.has(item)) backend.dispose(item);
      created.length = 0;
    },
  };
}

/** The backend under test, tracked: what the current test allocates through it is disposed when the test ends. */
export function trackedBackend(context: ConformanceContext): Backend {
  const tracked = trackAllocations(context.backend());
  onTestFinished(() => tracked.release());
  return tracked.backend;
}

/**
 * Runs `compute` once on the backend under test and once on the reference, reads every output of both and compares
 * them with the op's tolerance (`op` may name one op per output). Returns the reference's outputs for further checks.
 */
export async function compareWithReference(
  context: ConformanceContext,
  op: ConformanceOp | readonly ConformanceOp[],
  label: string,
  compute: Computation,
): Promise<(Float32Array | Int32Array)[]> {
  const reference = trackAllocations(context.reference);
  const backend = trackAllocations(context.backend());
  let expected: (Float32Array | Int32Array)[];
  let actual: (Float32Array | Int32Array)[];
  try {
    expected = await readAll(reference.backend, await compute(reference.backend));
    actual = await readAll(backend.backend, await compute(backend.backend));
  } finally {
    reference.release();
    backend.release();
  }
  const ops: readonly ConformanceOp[] = typeof op === 'string' ? expected.map(() => op as ConformanceOp) : op;
  expect(actual.length, `${ops[0]} ${label}: output count`).toBe(expected.length);
  expect(ops.length, `${label}: one op per output`).toBe(expected.length);
  expected.forEach((reference, index) => {
    const name = `${ops[index]} ${label}${expected.length > 1 ? ` [output ${index}]` : ''}`;
    expectClose(actual[index]!, reference, context.tolerance(ops[index]!), name);
  });
  return expected;
}

/** Uploads host bytes of a weight on a backend. */
export function uploadWeight(
  backend: Backend,
  type: WeightType,
  shape: readonly number[],
  bytes: Uint8Array,
  name = `conformance.${type}`,
): Promise<WeightTensor> {
  return backend.uploadWeight({ name, type, shape }, bytes);
}

/** A seeded generator for a case, so each case's inputs depend only on its name. */
export function randomFor(name: string): SeededRandom {
  return new SeededRandom(`strata-conformance:${name}`);
}

/** Random valid weight bytes of `[rows, columns]` in `type` for a named case. */
export function weightBytesFor(name: string, type: WeightType, rows: number, columns: number): Uint8Array {
  return randomWeightBytes(type, rows, columns, randomFor(`${name}:${type}`));
}

/**
 * Expects `run` to fail with a `StrataError` of `code`, thrown by the op itself or, for a backend that records work,
 * by the `read` of its result.
 */
export async function expectStrataError(
  backend: Backend,
  code: StrataErrorCode,
  run: () => Tensor | undefined,
): Promise<void> {
  let caught: unknown;
  try {
    const result = run();
    if (result !== undefined) await backend.read(result);
  } catch (error) {
    caught = error;
  }
  expect(caught, `expected a StrataError ${code}`).toBeDefined();
  expect(StrataError.isInstance(caught) ? caught.code : String(caught)).toBe(code);
}
