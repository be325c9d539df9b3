/**
 * Writes a GGUF file with the dimensions of a released model and random (but valid) weights, for benchmarks (see
 * random-gguf.ts for the layouts).
 *
 *   pnpm exec tsx packages/pipeline/bench/write-random-gguf.ts --model llama-3.2-1b --type Q4_K_M --out /tmp/1b-q4km.gguf
 *   (models: llama-3.2-1b, llama-3-8b, tiny; types: F16, Q8_0, Q4_K_M)
 */
import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { type FileType, MODELS, writeRandomGguf } from './random-gguf.js';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string', default: 'llama-3.2-1b' },
      type: { type: 'string', default: 'Q4_K_M' },
      out: { type: 'string' },
    },
  });
  const dimensions = MODELS[values.model!];
  const fileType = values.type as FileType;
  if (dimensions === undefined || !['F16', 'Q8_0', 'Q4_K_M'].includes(fileType) || values.out === undefined) {
    process.stderr.write(
      `usage: write-random-gguf.ts --model ${Object.keys(MODELS).join('|')} --type F16|Q8_0|Q4_K_M --out FILE\n`,
    );
    process.exitCode = 2;
    return;
  }
  mkdirSync(dirname(values.out), { recursive: true });
  await writeRandomGguf(dimensions, fileType, values.out);
}

await main();
