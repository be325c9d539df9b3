/**
 * The loaders fuzzer: `pnpm --filter @strata/loaders fuzz [--seconds 30] [--seed N] [--out DIR]`.
 * Seeds: writer-made files plus the GGUF and safetensors fixtures of ../shared/fixtures (when present). Exits 1 and
 * writes each failing input under --out when any input raises something other than a StrataError.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesSource } from '../byte-source/byte-source.js';
import { readGgufHeader } from '../gguf/gguf-header.js';
import { readSafetensorsHeader } from '../safetensors/safetensors.js';
import { type FuzzSeed, fuzzLoaders } from './fuzz-loaders.js';
import { builtInSeeds } from './seeds.js';

function option(name: string, fallback: string): string {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

async function fixtureSeeds(): Promise<FuzzSeed[]> {
  const root = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));
  if (!existsSync(root)) return [];
  const paths = [
    join(root, 'models/llama/model-f32.gguf'),
    join(root, 'models/qwen3moe/model-f32.gguf'),
    join(root, 'models/quant-base/model-Q4_K_M.gguf'),
    join(root, 'vocab/ggml-vocab-llama-spm.gguf'),
    join(root, 'models/llama/model.safetensors'),
  ].filter((path) => existsSync(path));
  const seeds: FuzzSeed[] = [];
  for (const path of paths) {
    const bytes = new Uint8Array(readFileSync(path));
    const format = path.endsWith('.gguf') ? 'gguf' : 'safetensors';
    const headerBytes =
      format === 'gguf'
        ? (await readGgufHeader(bytesSource(bytes))).dataOffset
        : (await readSafetensorsHeader(bytesSource(bytes))).dataOffset;
    seeds.push({ name: path.slice(root.length), bytes, headerBytes, format });
  }
  return seeds;
}

const seconds = Number(option('seconds', '30'));
const seed = Number(option('seed', String(Date.now() % 1_000_000)));
const out = option('out', 'fuzz-failures');
const seeds = [...builtInSeeds(), ...(await fixtureSeeds())];
console.log(`fuzzing the loaders for ${seconds} s with seed ${seed} over ${seeds.length} seeds`);
const report = await fuzzLoaders(seeds, { seed, milliseconds: seconds * 1000 });
console.log(
  `${report.iterations} inputs: ${report.accepted} parsed, rejections by code: ${JSON.stringify(report.rejectedByCode)}`,
);
if (report.failures.length > 0) {
  mkdirSync(out, { recursive: true });
  for (const failure of report.failures.slice(0, 20)) {
    const file = join(out, `seed-${seed}-iteration-${failure.iteration}.bin`);
    writeFileSync(file, failure.input);
    console.error(
      `FAILURE at iteration ${failure.iteration} (from ${failure.seedName}, saved to ${file}):\n${failure.reason}\n`,
    );
  }
  console.error(`${report.failures.length} failure(s); reproduce with --seed ${seed}`);
  process.exitCode = 1;
}
