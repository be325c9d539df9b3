import { builtinModules } from 'node:module';
import { fileURLToPath } from 'node:url';
import { defineConfig, type Plugin } from 'vite';

const packages = fileURLToPath(new URL('../../packages/', import.meta.url));
const nodeBuiltins = new Set(builtinModules);

/**
 * Fails the build (and the dev server's transform) when anything in the app's module graph imports a Node built-in or
 * the loaders' Node-only entry: the browser bundles of the packages must never reach them. The error names the
 * importing file.
 */
function browserOnly(): Plugin {
  return {
    name: 'strata-browser-only',
    enforce: 'pre',
    resolveId(source, importer) {
      const bare = source.startsWith('node:') ? source.slice(5) : source;
      if (source.startsWith('node:') || nodeBuiltins.has(bare) || source === '@strata/loaders/node') {
        this.error(`${importer ?? 'the app'} imports ${source}, which is Node-only; browser code must not reach it.`);
      }
      return null;
    },
  };
}

/**
 * The app resolves every `@strata/*` entry point to the package's TypeScript sources (as the tests and the CLI do), so
 * it needs no prior build of the packages; only the entry points (`@strata/<name>`) are reachable.
 */
export default defineConfig({
  plugins: [browserOnly()],
  resolve: {
    alias: [{ find: /^@strata\/([a-z-]+)$/, replacement: `${packages}$1/src/index.ts` }],
  },
  worker: { format: 'es' },
  build: { target: 'es2022', sourcemap: true, chunkSizeWarningLimit: 2048 },
  server: { host: '127.0.0.1' },
  preview: { host: '127.0.0.1' },
});
