import { StrataError } from '@strata/core';
import { afterAll, beforeAll } from 'vitest';
import { createWebGpuBackend, type WebGpuBackend, type WebGpuBackendOptions } from '../webgpu-backend.js';

/**
 * A WebGPU backend for tests, or undefined (with the reason) when the machine has no adapter and
 * `STRATA_REQUIRE_WEBGPU` is not `1`. In CI the variable is set, so a missing adapter fails instead of skipping.
 */
export async function backendForTests(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend | string> {
  try {
    return await createWebGpuBackend(options);
  } catch (error) {
    if (StrataError.isInstance(error, 'NO_ADAPTER') && process.env.STRATA_REQUIRE_WEBGPU !== '1') {
      return `no WebGPU adapter: ${error.message}`;
    }
    throw error;
  }
}

/** What a test receives from {@link useBackendForTests}: the running test's `context`, for skipping it. */
export interface SkippableContext {
  /** Skips the running test with the given note. */
  readonly skip: (note: string) => never;
}

/**
 * Registers `beforeAll`/`afterAll` hooks in the calling test file that create one WebGPU backend (with `options`) for
 * the whole file and destroy it afterwards. Returns a function that a test calls with its context: it gives the
 * backend, or skips the test (with the reason) where {@link backendForTests} found no adapter.
 */
export function useBackendForTests(options: WebGpuBackendOptions = {}): (context: SkippableContext) => WebGpuBackend {
  let backend: WebGpuBackend | undefined;
  let reason = 'the WebGPU backend was not created';
  beforeAll(async () => {
    const result = await backendForTests(options);
    if (typeof result === 'string') reason = result;
    else backend = result;
  });
  afterAll(() => backend?.destroy());
  return (context) => backend ?? context.skip(reason);
}
