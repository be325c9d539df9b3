import type { Backend } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { afterAll, beforeAll, describe } from 'vitest';
import { registerAttentionCases } from './cases/attention.js';
import { registerCompositionCases } from './cases/composition.js';
import { registerKeyValueCacheCases } from './cases/key-value-cache.js';
import { registerFusedCases } from './cases/fused.js';
import { registerLinearCases } from './cases/linear.js';
import { registerMemoryCases } from './cases/memory.js';
import { registerPagedAttentionCases } from './cases/paged-attention.js';
import { registerPointwiseCases } from './cases/pointwise.js';
import { registerRoutingCases } from './cases/routing.js';
import { registerSequenceCases } from './cases/sequences.js';
import { createContext } from './harness.js';
import type { ConformanceOp, Tolerance } from './tolerances.js';

/** Options of {@link describeBackendConformance}. */
export interface BackendConformanceOptions {
  /** Per-op tolerances replacing the defaults of `CONFORMANCE_TOLERANCES` (say why where you pass them). */
  readonly tolerances?: Partial<Record<ConformanceOp, Tolerance>>;
  /** Called once after the suite, to release the backend (a GPU device, say). */
  readonly release?: (backend: Backend) => void | Promise<void>;
}

/**
 * Registers the conformance suite (vitest `describe` / `it`) for a backend: every op of the `Backend` contract, every
 * weight type, on seeded random inputs, compared with the CPU reference backend. `createBackend` runs once, in
 * `beforeAll`; keep whatever owns the device referenced inside the backend for as long as it lives.
 *
 * @example
 * describeBackendConformance('webgpu', () => createWebGpuBackend(), { release: (backend) => backend.destroy() });
 */
export function describeBackendConformance(
  label: string,
  createBackend: () => Promise<Backend>,
  options: BackendConformanceOptions = {},
): void {
  describe(`backend conformance: ${label}`, () => {
    let backend: Backend | undefined;
    const context = createContext(
      () => {
        if (backend === undefined) throw new Error(`The ${label} backend was not created (see the beforeAll error).`);
        return backend;
      },
      createCpuBackend(),
      options.tolerances,
    );

    beforeAll(async () => {
      backend = await createBackend();
    });

    afterAll(async () => {
      if (backend !== undefined && options.release !== undefined) await options.release(backend);
    });

    describe('memory and errors', () => registerMemoryCases(context));
    describe('linear algebra', () => registerLinearCases(context));
    describe('fused projections', () => registerFusedCases(context));
    describe('element-wise and normalisation', () => registerPointwiseCases(context));
    describe('rotary embedding and attention', () => registerAttentionCases(context));
    describe('KV cache storage', () => registerKeyValueCacheCases(context));
    describe('paged KV cache (batched sequences)', () => registerPagedAttentionCases(context));
    describe('routing and sampling', () => registerRoutingCases(context));
    describe('sequence batches (encoders)', () => registerSequenceCases(context));
    describe('composition', () => registerCompositionCases(context));
  });
}
