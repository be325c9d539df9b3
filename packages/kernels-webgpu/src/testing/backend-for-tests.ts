import { StrataError } from '@strata/core';
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
