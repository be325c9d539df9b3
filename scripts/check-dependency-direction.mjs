#!/usr/bin/env node
// Fails when a package imports one it may not (ARCHITECTURE.md: arrows point only downward) or the graph has a cycle.
// Usage: node scripts/check-dependency-direction.mjs [ROOT]   (ROOT defaults to the repository root)
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

/** What each package's runtime code may import. Anything not listed is a violation. */
const ALLOWED = {
  '@strata/core': [],
  '@strata/loaders': ['@strata/core'],
  '@strata/kernels-cpu': ['@strata/core'],
  '@strata/kernels-webgpu': ['@strata/core'],
  '@strata/primitives': ['@strata/core'],
  '@strata/models': ['@strata/core', '@strata/primitives', '@strata/loaders'],
  '@strata/structured': ['@strata/core', '@strata/loaders'],
  '@strata/pipeline': ['@strata/core', '@strata/loaders', '@strata/structured', '@strata/primitives', '@strata/models'],
  '@strata/server': ['@strata/core', '@strata/pipeline'],
};
/** Tests may also use the backends, the loaders and the shared conformance suite, never a package above their own. */
const TEST_EXTRAS = ['@strata/kernels-cpu', '@strata/kernels-webgpu', '@strata/loaders', '@strata/backend-conformance'];

const root = process.argv[2] ?? new URL('..', import.meta.url).pathname;
const packagesDirectory = join(root, 'packages');
const problems = [];

function* sourceFiles(directory) {
  for (const entry of readdirSync(directory)) {
    const path = join(directory, entry);
    if (statSync(path).isDirectory()) yield* sourceFiles(path);
    else if (/\.(ts|mts|js|mjs)$/.test(entry)) yield path;
  }
}

const importPattern = /(?:from\s+|import\s*\(\s*|import\s+)['"](@strata\/[a-z0-9-]+)(?:\/[^'"]*)?['"]/g;
const edges = new Map();
for (const directory of readdirSync(packagesDirectory)) {
  const manifestPath = join(packagesDirectory, directory, 'package.json');
  let manifest;
  try {
    manifest = JSON.parse(readFileSync(manifestPath, 'utf8'));
  } catch {
    continue;
  }
  const name = manifest.name;
  const allowed = ALLOWED[name];
  if (allowed === undefined) {
    if (!manifest.private) problems.push(`${name}: not in the layer table of scripts/check-dependency-direction.mjs`);
    continue;
  }
  edges.set(
    name,
    new Set(Object.keys(manifest.dependencies ?? {}).filter((dependency) => dependency.startsWith('@strata/'))),
  );
  for (const dependency of edges.get(name)) {
    if (!allowed.includes(dependency))
      problems.push(`${name}: package.json depends on ${dependency}, which is above it or beside it`);
  }
  for (const file of sourceFiles(join(packagesDirectory, directory, 'src'))) {
    const isTest = /\.(test|bench)\.ts$/.test(file) || file.includes('/testing/');
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(importPattern)) {
      const target = match[1];
      if (target === name) continue;
      if (allowed.includes(target) || (isTest && TEST_EXTRAS.includes(target) && target !== name)) continue;
      problems.push(`${relative(root, file)}: ${name} imports ${target}, which its layer may not import`);
    }
  }
}

// Cycle detection over the declared dependency graph.
const state = new Map();
function visit(node, trail) {
  if (state.get(node) === 'done') return;
  if (state.get(node) === 'active') {
    problems.push(`dependency cycle: ${[...trail.slice(trail.indexOf(node)), node].join(' → ')}`);
    return;
  }
  state.set(node, 'active');
  for (const next of edges.get(node) ?? []) visit(next, [...trail, node]);
  state.set(node, 'done');
}
for (const node of edges.keys()) visit(node, []);

if (problems.length > 0) {
  console.error(`dependency direction: ${problems.length} violation(s)\n  ${problems.join('\n  ')}`);
  process.exit(1);
}
console.log(`dependency direction: ${edges.size} packages, no violations`);
