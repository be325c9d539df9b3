import { StrataError } from '../errors/strata-error.js';
import type { Tensor } from '../tensor/tensor.js';
import type { Backend } from './backend.js';
import type { StepBody, StepInputShapes } from './step-plan.js';

/**
 * A scope of tensors on a {@link ScopedBackend}: records every tensor the backend's ops return while work runs inside
 * it, and disposes them all when it closes, except the ones kept.
 */
export interface TensorScope {
  /**
   * Runs `work` now, recording the tensors that ops of the scoped backend return while it runs. Only what runs
   * synchronously is recorded: for an `async` function, the ops before its first `await` (record a step's ops, then
   * await its read). Returns what `work` returns.
   */
  run<T>(work: () => T): T;
  /**
   * Disposes every recorded tensor not disposed yet, except those in `keep` (which pass to the enclosing scope, if one
   * is open). Closing twice is a no-op; a closed scope cannot run work.
   */
  close(keep?: Iterable<Tensor>): void;
}

/** A {@link Backend} that records the tensors its ops return, so that a step frees by construction what it made. */
export interface ScopedBackend extends Backend {
  /** The backend every call goes to. */
  readonly inner: Backend;
  /** Tensors returned by this backend's ops (any scope or none) and not disposed yet; weights are not counted. */
  readonly liveTensors: number;
  /** Opens a scope; run the step's work in it with {@link TensorScope.run}, then close it. */
  openScope(): TensorScope;
  /**
   * Runs `work` (synchronous) in a new scope and closes it, keeping the tensors of its result: a tensor, an array of
   * tensors, or an object whose own values are tensors, arrays of them or such objects (two levels).
   */
  scope<T>(work: () => T): T;
}

const SCOPED = Symbol.for('strata.scopedBackend');

function isTensor(value: unknown): value is Tensor {
  return (
    typeof value === 'object' &&
    value !== null &&
    'backendName' in value &&
    'dtype' in value &&
    'shape' in value &&
    !('type' in value)
  );
}

/**
 * The tensors of an op's result: itself, the items of an array, or the values of a plain object, two levels deep (a
 * paged KV pool holds its tensors in a `storage` cache object).
 */
function tensorsOf(value: unknown, found: Tensor[] = [], depth = 0): Tensor[] {
  if (isTensor(value)) found.push(value);
  else if (depth < 2 && Array.isArray(value)) for (const item of value) tensorsOf(item, found, depth + 1);
  else if (
    depth < 2 &&
    typeof value === 'object' &&
    value !== null &&
    Object.getPrototypeOf(value) === Object.prototype
  ) {
    for (const item of Object.values(value)) tensorsOf(item, found, depth + 1);
  }
  return found;
}

function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof value === 'object' && value !== null && typeof (value as { then?: unknown }).then === 'function';
}

class Scope implements TensorScope {
  readonly recorded = new Set<Tensor>();
  private closed = false;

  constructor(
    private readonly owner: ScopeRegistry,
    private readonly parent: Scope | null | undefined,
  ) {}

  run<T>(work: () => T): T {
    if (this.closed) throw new StrataError('INVALID_ARGUMENT', 'This tensor scope was closed; open a new one.');
    this.owner.active.push(this);
    try {
      return work();
    } finally {
      this.owner.active.pop();
    }
  }

  close(keep: Iterable<Tensor> = []): void {
    if (this.closed) return;
    this.closed = true;
    this.owner.open.delete(this);
    const kept = new Set(keep);
    for (const tensor of this.recorded) {
      if (kept.has(tensor)) {
        if (this.parent != null && this.owner.open.has(this.parent)) this.parent.recorded.add(tensor);
      } else {
        this.owner.dispose(tensor);
      }
    }
    this.recorded.clear();
  }
}

/** The state shared by a scoped backend and its scopes. */
interface ScopeRegistry {
  /** Scopes whose work is running, innermost last; `null` while a step plan captures (nothing is recorded). */
  readonly active: (Scope | null)[];
  readonly open: Set<Scope>;
  dispose(tensor: Tensor): void;
}

/**
 * Wraps `backend` so that every tensor its ops return is recorded (the live count, and the innermost scope whose work
 * is running), and a {@link TensorScope} frees whatever a step made and did not keep. Every method of `backend`, present
 * or future, is forwarded; results that are promises (`read`, `flush`, `uploadWeight`) are not recorded, nor are
 * weights. Wrapping a scoped backend returns it unchanged.
 *
 * ```ts
 * const scoped = createScopedBackend(backend);
 * const scope = scoped.openScope();
 * try {
 *   const token = scope.run(() => model.forward(scoped, ids)); // every intermediate is recorded
 *   return await scoped.read(token);
 * } finally {
 *   scope.close(); // disposes them all, the token included
 * }
 * ```
 */
export function createScopedBackend(backend: Backend): ScopedBackend {
  if ((backend as Partial<Record<typeof SCOPED, boolean>>)[SCOPED] === true) return backend as ScopedBackend;
  const live = new Set<Tensor>();
  const registry: ScopeRegistry = {
    active: [],
    open: new Set(),
    dispose(tensor) {
      if (!live.delete(tensor)) return;
      for (const scope of registry.open) scope.recorded.delete(tensor);
      backend.dispose(tensor);
    },
  };
  const record = (result: unknown, inputs: readonly unknown[]): void => {
    const scope = registry.active[registry.active.length - 1];
    if (scope === null) return; // a step plan is capturing: the plan owns what its body makes
    for (const tensor of tensorsOf(result)) {
      // An op that hands back one of its inputs made nothing new: the input stays its owner's.
      if (inputs.includes(tensor)) continue;
      live.add(tensor);
      scope?.recorded.add(tensor);
    }
  };
  const openScope = (): TensorScope => {
    const scope = new Scope(registry, registry.active[registry.active.length - 1]);
    registry.open.add(scope);
    return scope;
  };
  const own: Record<PropertyKey, unknown> = {
    [SCOPED]: true,
    inner: backend,
    openScope,
    scope<T>(work: () => T): T {
      const scope = openScope();
      let result: T | undefined;
      try {
        result = scope.run(work);
        if (isThenable(result)) {
          throw new StrataError(
            'INVALID_ARGUMENT',
            'scope(work) takes synchronous work; for a step that awaits, use openScope(), run() and close().',
          );
        }
        return result;
      } finally {
        scope.close(tensorsOf(result));
      }
    },
    dispose(tensor: Parameters<Backend['dispose']>[0]) {
      if (isTensor(tensor) && live.has(tensor)) registry.dispose(tensor);
      else backend.dispose(tensor);
    },
  };
  // A captured step plan owns what its body allocates while it captures (Backend.captureStep): the body's first run is
  // recorded by no scope (a recording backend runs it only then; an eager one runs it again for each step, and those
  // later runs belong to the step's scope like any op).
  own.captureStep = (rows: number, body: StepBody, inputShapes?: StepInputShapes) => {
    let captured = false;
    return backend.captureStep(
      rows,
      (ids, firstPosition, inputs) => {
        if (captured) return body(ids, firstPosition, inputs);
        captured = true;
        registry.active.push(null);
        try {
          return body(ids, firstPosition, inputs);
        } finally {
          registry.active.pop();
        }
      },
      inputShapes,
    );
  };
  const wrapped = new Map<PropertyKey, unknown>();
  return new Proxy(backend, {
    get(target, property) {
      if (property === 'liveTensors') return live.size;
      if (Object.hasOwn(own, property)) return own[property];
      const value = Reflect.get(target, property, target);
      if (typeof value !== 'function') return value;
      let method = wrapped.get(property);
      if (method === undefined) {
        method = (...args: unknown[]) => {
          const result = (value as (...parameters: unknown[]) => unknown).apply(target, args);
          if (!isThenable(result)) record(result, args);
          return result;
        };
        wrapped.set(property, method);
      }
      return method;
    },
    has(target, property) {
      return Object.hasOwn(own, property) || property === 'liveTensors' || Reflect.has(target, property);
    },
  }) as unknown as ScopedBackend;
}
