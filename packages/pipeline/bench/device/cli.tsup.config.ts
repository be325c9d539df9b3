import { defineConfig } from 'tsup';

/**
 * The `strata` CLI as one file for the GPU machine (no node_modules there): every dependency inlined but Dawn's
 * `webgpu` (packed beside it by pack.sh), with a `require` for the CommonJS dependencies. Used by bundle.sh.
 */
export default defineConfig({
  entry: { 'strata-cli': 'apps/cli/src/main.ts', 'bench-serve': 'packages/server/bench/bench-serve.ts' },
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
  banner: {
    js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
  },
});
