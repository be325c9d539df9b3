import { resolve } from 'node:path';
import { defineConfig } from 'tsup';

/**
 * The WebGPU conformance runner (conformance-run.ts) as one file for the GPU machine, which has no node_modules:
 * `vitest` is aliased to the standalone runner's shim, `@vitest/expect` and chai are inlined, Dawn's `webgpu` stays
 * external (packed beside it by pack.sh). Used by packages/pipeline/bench/device/bundle.sh; from the repository root:
 *
 *   STRATA_DEVICE_OUT=/tmp/out pnpm exec tsup --config packages/kernels-webgpu/bench/conformance.tsup.config.ts
 */
export default defineConfig({
  entry: { 'conformance-run': 'packages/kernels-webgpu/bench/conformance-run.ts' },
  format: ['esm'],
  platform: 'node',
  target: 'node20',
  external: ['webgpu'],
  noExternal: [/.*/],
  splitting: false,
  outDir: process.env.STRATA_DEVICE_OUT ?? '/tmp/strata-device-bundle',
  outExtension: () => ({ js: '.mjs' }),
  tsconfig: 'tsconfig.json',
  silent: true,
  esbuildOptions(options) {
    options.alias = {
      ...options.alias,
      vitest: resolve('tools/backend-conformance/src/standalone/vitest-shim.ts'),
    };
  },
});
