import { StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { backendForTests } from '../testing/backend-for-tests.js';
import type { WebGpuBackend } from '../webgpu-backend.js';
import { compileKernelsAhead, kernelManifest, parseKernelManifest } from './kernel-warm-up.js';

async function addRows(backend: WebGpuBackend): Promise<number[]> {
  const a = backend.upload(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
  const row = backend.upload(new Float32Array([10, 20, 30]), [3]);
  const product = backend.mul(backend.add(a, row), row);
  return Array.from(await backend.read(product));
}
const EXPECTED = [110, 440, 990, 140, 500, 1080];

describe('kernels compiled ahead from a saved manifest', () => {
  it('builds the manifest of one run on a fresh device; a kernel whose code differs is rebuilt from its spec', async (context) => {
    const first = await backendForTests();
    if (typeof first === 'string') return context.skip(first);
    expect(await addRows(first)).toEqual(EXPECTED);
    const manifest = parseKernelManifest(JSON.stringify(kernelManifest(first)));
    first.destroy();
    expect(manifest.length).toBeGreaterThanOrEqual(2);

    const second = (await backendForTests()) as WebGpuBackend;
    expect(await compileKernelsAhead(second, manifest)).toBe(manifest.length);
    expect(await compileKernelsAhead(second, manifest)).toBe(0); // already built: nothing twice
    expect(await addRows(second)).toEqual(EXPECTED);
    expect(
      kernelManifest(second)
        .map((entry) => entry.key)
        .sort(),
    ).toEqual(manifest.map((entry) => entry.key).sort());
    second.destroy();

    // A manifest from other kernels (same keys, other code) is built but never used.
    const stale = manifest.map((entry) => ({ ...entry, code: `${entry.code}\n// another version` }));
    const third = (await backendForTests()) as WebGpuBackend;
    expect(await compileKernelsAhead(third, stale)).toBe(stale.length);
    expect(await addRows(third)).toEqual(EXPECTED);
    for (const entry of kernelManifest(third)) expect(entry.code).not.toContain('another version');
    third.destroy();
  });

  it('rejects a manifest that is not one with INVALID_FILE', () => {
    for (const text of [
      'not json',
      '{}',
      '[{"key": "k", "code": 1, "storage": []}]',
      '[{"key": "k", "code": "", "storage": ["x"]}]',
    ]) {
      expect(() => parseKernelManifest(text)).toThrow(StrataError);
    }
    expect(parseKernelManifest('[{"key": "k", "code": "c", "storage": ["read", "write"]}]')).toHaveLength(1);
  });
});
