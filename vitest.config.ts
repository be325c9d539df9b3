import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

const packages = fileURLToPath(new URL('./packages/', import.meta.url));

/** Tests run against each package's TypeScript sources (the same mapping as the `paths` of the root tsconfig.json). */
export default defineConfig({
  resolve: {
    alias: [
      { find: /^@strata\/models\/(.+)$/, replacement: `${packages}models/src/$1/index.ts` },
      { find: /^@strata\/loaders\/node$/, replacement: `${packages}loaders/src/node.ts` },
      {
        find: /^@strata\/backend-conformance$/,
        replacement: fileURLToPath(new URL('./tools/backend-conformance/src/index.ts', import.meta.url)),
      },
      { find: /^@strata\/([a-z-]+)$/, replacement: `${packages}$1/src/index.ts` },
    ],
  },
  test: {
    include: [
      'scripts/**/*.test.ts',
      'packages/*/src/**/*.test.ts',
      'apps/*/src/**/*.test.ts',
      'examples/*/src/**/*.test.ts',
      'tools/*/src/**/*.test.ts',
    ],
    testTimeout: 180_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
