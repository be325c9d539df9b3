import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { defineConfig, type Options } from 'tsup';

/**
 * The one-file programs for the GPU machine, which has no node_modules: every dependency inlined but Dawn's `webgpu`
 * (packed beside them by pack.sh). Used by bundle.sh; from the repository root:
 *
 *   STRATA_DEVICE_OUT=/tmp/out pnpm exec tsup --config packages/pipeline/bench/device/device.tsup.config.ts
 */
const oneFile: Options = {
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
};

export default defineConfig([
  // The `strata` CLI and the serving load generator, with a `require` for their CommonJS dependencies.
  {
    ...oneFile,
    entry: { 'strata-cli': 'apps/cli/src/main.ts', 'bench-serve': 'packages/server/bench/bench-serve.ts' },
    banner: {
      js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
    },
    // The bundled CLI has no package.json beside it: its version is baked in (apps/cli/src/version.ts).
    define: {
      STRATA_CLI_VERSION: JSON.stringify(
        (JSON.parse(readFileSync('apps/cli/package.json', 'utf8')) as { version: string }).version,
      ),
    },
  },
  // The WebGPU conformance runner (kernels-webgpu/bench/conformance-run.ts): `vitest` aliased to the standalone
  // runner's shim, `@vitest/expect` and chai inlined.
  {
    ...oneFile,
    entry: { 'conformance-run': 'packages/kernels-webgpu/bench/conformance-run.ts' },
    esbuildOptions(options) {
      options.alias = {
        ...options.alias,
        vitest: resolve('tools/backend-conformance/src/standalone/vitest-shim.ts'),
      };
    },
  },
]);
