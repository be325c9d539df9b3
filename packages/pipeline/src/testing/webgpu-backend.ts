import { StrataError } from '@strata/core';
import { createWebGpuBackend, type WebGpuBackend } from '@strata/kernels-webgpu';
import { afterAll, beforeAll } from 'vitest';

/** What a test hands to {@link useWebGpuBackend}'s getter: its context, to skip itself. */
export interface SkippableTest {
  /** Skips the running test with the given note. */
  readonly skip: (note: string) => never;
}

/**
 * Registers hooks in the calling test file that create one WebGPU backend for the file (lavapipe in CI) and destroy
 * it afterwards; returns a getter that gives the backend, or skips the test saying why when Dawn finds no adapter.
 * `STRATA_REQUIRE_WEBGPU=1` (CI) turns a missing adapter into a failure.
 */
export function useWebGpuBackend(): (test: SkippableTest) => WebGpuBackend {
  let backend: WebGpuBackend | undefined;
  let missing = 'the WebGPU backend was not created';
  beforeAll(async () => {
    try {
      backend = await createWebGpuBackend();
    } catch (error) {
      if (!StrataError.isInstance(error, 'NO_ADAPTER') || process.env.STRATA_REQUIRE_WEBGPU === '1') throw error;
      missing = error.message;
    }
  });
  afterAll(() => backend?.destroy());
  return (test) => backend ?? test.skip(`no WebGPU adapter: ${missing}`);
}
