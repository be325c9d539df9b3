import { readFileSync } from 'node:fs';

/** Set by bundles that carry no package.json beside them (the GPU machine's one-file CLI); undefined otherwise. */
declare const STRATA_CLI_VERSION: string | undefined;

/** The CLI's version: baked in by a one-file bundle, else from its package.json (beside `src/` and `dist/` alike). */
export function cliVersion(): string {
  if (typeof STRATA_CLI_VERSION === 'string') return STRATA_CLI_VERSION;
  const manifest = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };
  return manifest.version;
}
