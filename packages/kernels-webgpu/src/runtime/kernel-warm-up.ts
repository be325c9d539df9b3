import { StrataError } from '@strata/core';
import type { WebGpuBackend } from '../webgpu-backend.js';
import type { KernelManifest, KernelManifestEntry } from './pipeline-cache.js';

/** The kernels `backend` has used so far: save it after a model's first generation, pass it to the next start. */
export function kernelManifest(backend: WebGpuBackend): KernelManifest {
  return backend.runtime.pipelines.manifest();
}

/**
 * Compiles a saved manifest's kernels on `backend` with `createComputePipelineAsync`, all in parallel; start it before
 * loading the weights and await it before the first step. Resolves to the number of kernels built. Kernels whose code
 * differs from what the running kernels ask for are never used, so a stale manifest costs time, not correctness.
 */
export function compileKernelsAhead(backend: WebGpuBackend, manifest: KernelManifest): Promise<number> {
  return backend.runtime.pipelines.compileAhead(manifest);
}

function isEntry(value: unknown): value is KernelManifestEntry {
  const entry = value as Partial<KernelManifestEntry> | null;
  return (
    typeof entry === 'object' &&
    entry !== null &&
    typeof entry.key === 'string' &&
    typeof entry.code === 'string' &&
    Array.isArray(entry.storage) &&
    entry.storage.every((access) => access === 'read' || access === 'write')
  );
}

/** Parses a manifest saved as JSON (`JSON.stringify(kernelManifest(backend))`); `INVALID_FILE` when it is not one. */
export function parseKernelManifest(text: string): KernelManifest {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (cause) {
    throw new StrataError('INVALID_FILE', 'The kernel manifest is not JSON; delete it, the next run saves a new one.', {
      cause,
    });
  }
  if (!Array.isArray(value) || !value.every(isEntry)) {
    throw new StrataError('INVALID_FILE', 'The kernel manifest is not a list of {key, code, storage}; delete it.');
  }
  return value;
}
