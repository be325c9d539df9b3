/**
 * The loaders fuzzer: `pnpm fuzz [--seconds 30] [--targets gguf,safetensors,tokenizer,template] [--iterations N]
 * [--seed N] [--heap-mb 1024] [--input-ms 2000] [--out DIR] [--json FILE]`.
 *
 * Each reader runs in its own child process with a memory cap (`--max-old-space-size`), a heap bound checked after
 * inputs, a per-input time limit, and a watchdog that kills a child whose heartbeat stops (a reader that never
 * returns). Seeds: writer-made files, a built-in tokenizer.json and templates, plus the shared fixtures when present.
 * Exits 1, and saves each failing input under --out, when any input raises something other than a StrataError, runs
 * past its time, leaves the heap past its bound, or kills or hangs its process.
 */
import { type ChildProcess, fork } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesSource } from '../byte-source/byte-source.js';
import { readGgufHeader } from '../gguf/gguf-header.js';
import { readSafetensorsHeader } from '../safetensors/safetensors.js';
import { ggufTarget, safetensorsTarget } from './binary-targets.js';
import type { FuzzSeed } from './seeds.js';
import { type FuzzTarget, fuzzTarget, type TargetReport } from './fuzz-target.js';
import { builtInSeeds } from './seeds.js';
import { builtInTemplateSeeds, templateTarget } from './template-target.js';
import { builtInTokenizerSeed, type TokenizerSeed, tokenizerTarget } from './tokenizer-target.js';

const TARGETS = ['gguf', 'safetensors', 'tokenizer', 'template'] as const;
type TargetName = (typeof TARGETS)[number];

/** The value after the last `--name` (a child gets the runner's arguments, then its own). */
function option(name: string, fallback: string): string {
  const index = process.argv.lastIndexOf(`--${name}`);
  return index >= 0 ? (process.argv[index + 1] ?? fallback) : fallback;
}

const fixtures = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));

async function binarySeeds(): Promise<FuzzSeed[]> {
  const paths = [
    'models/llama/model-f32.gguf',
    'models/qwen3moe/model-f32.gguf',
    'models/quant-base/model-Q4_K_M.gguf',
    'vocab/ggml-vocab-llama-spm.gguf',
    'models/llama/model.safetensors',
  ]
    .map((path) => join(fixtures, path))
    .filter((path) => existsSync(path));
  const seeds: FuzzSeed[] = [...builtInSeeds()];
  for (const path of paths) {
    const bytes = new Uint8Array(readFileSync(path));
    const format = path.endsWith('.gguf') ? 'gguf' : 'safetensors';
    const headerBytes =
      format === 'gguf'
        ? (await readGgufHeader(bytesSource(bytes))).dataOffset
        : (await readSafetensorsHeader(bytesSource(bytes))).dataOffset;
    seeds.push({ name: path.slice(fixtures.length), bytes, headerBytes, format });
  }
  return seeds;
}

function tokenizerSeeds(): TokenizerSeed[] {
  const seeds = [builtInTokenizerSeed()];
  for (const model of ['llama', 'gemma', 'phi3', 'qwen3']) {
    const folder = join(fixtures, 'models', model);
    if (!existsSync(join(folder, 'tokenizer.json'))) continue;
    const read = (name: string) =>
      existsSync(join(folder, name)) ? (JSON.parse(readFileSync(join(folder, name), 'utf8')) as unknown) : {};
    seeds.push({
      tokenizer: read('tokenizer.json'),
      config: read('tokenizer_config.json'),
      generation: read('generation_config.json'),
    });
  }
  return seeds;
}

function templateSeeds(): string[] {
  const folder = join(fixtures, 'chat-templates');
  const files = existsSync(folder) ? readdirSync(folder).filter((name) => name.endsWith('.jinja')) : [];
  return [...builtInTemplateSeeds(), ...files.map((name) => readFileSync(join(folder, name), 'utf8'))];
}

async function target(name: TargetName): Promise<FuzzTarget<unknown>> {
  switch (name) {
    case 'gguf':
      return ggufTarget(await binarySeeds()) as FuzzTarget<unknown>;
    case 'safetensors':
      return safetensorsTarget(await binarySeeds()) as FuzzTarget<unknown>;
    case 'tokenizer':
      return tokenizerTarget(tokenizerSeeds()) as FuzzTarget<unknown>;
    case 'template':
      return templateTarget(templateSeeds()) as FuzzTarget<unknown>;
  }
}

/** Messages from a child to the runner. */
type ChildMessage = { progress: number } | { report: Omit<TargetReport, 'failures'> & { failures: string[] } };

const seed = Number(option('seed', String(Date.now() % 1_000_000)));
const out = option('out', 'fuzz-failures');
const inputMilliseconds = Number(option('input-ms', '2000'));
const heapMegabytes = Number(option('heap-mb', '1024'));
const iterationsOption = option('iterations', '');
const iterations = iterationsOption === '' ? undefined : Number(iterationsOption);

/** Child mode: fuzz one reader and report to the parent. */
async function child(name: TargetName, seconds: number): Promise<void> {
  const report = await fuzzTarget(await target(name), {
    seed,
    milliseconds: seconds * 1000,
    ...(iterations === undefined ? {} : { iterations }),
    inputMilliseconds,
    // The bound sits under the process's hard cap, so that creeping growth is reported before V8 aborts.
    heapBytes: (heapMegabytes * 1024 * 1024) / 2,
    onProgress: (done) => process.send?.({ progress: done } satisfies ChildMessage),
  });
  const failures: string[] = [];
  if (report.failures.length > 0) mkdirSync(out, { recursive: true });
  for (const failure of report.failures.slice(0, 20)) {
    const file = join(out, `${name}-seed-${seed}-iteration-${failure.iteration}.bin`);
    writeFileSync(file, failure.input);
    failures.push(`iteration ${failure.iteration} (saved to ${file}): ${failure.reason}`);
  }
  for (const failure of report.failures.slice(20)) failures.push(`iteration ${failure.iteration}: ${failure.reason}`);
  process.send?.({ report: { ...report, failures } } satisfies ChildMessage);
}

/** Runs one reader in a child process with a memory cap and a watchdog; resolves with its report or a failure. */
function supervise(name: TargetName, seconds: number): Promise<ChildMessage & { report: unknown }> {
  const stallMilliseconds = Math.max(30_000, inputMilliseconds * 10);
  return new Promise((resolve) => {
    let lastProgress = 0;
    let report: (ChildMessage & { report: unknown }) | undefined;
    const processChild: ChildProcess = fork(
      fileURLToPath(import.meta.url),
      [...process.argv.slice(2), '--child', name, '--seconds', String(seconds), '--seed', String(seed)],
      { execArgv: [...process.execArgv, `--max-old-space-size=${heapMegabytes}`, '--expose-gc'] },
    );
    let heard = Date.now();
    const watchdog = setInterval(() => {
      if (Date.now() - heard > stallMilliseconds) processChild.kill('SIGKILL');
    }, 1000);
    processChild.on('message', (message: ChildMessage) => {
      heard = Date.now();
      if ('progress' in message) lastProgress = message.progress;
      else report = message as ChildMessage & { report: unknown };
    });
    processChild.on('exit', (code, signal) => {
      clearInterval(watchdog);
      if (report !== undefined && code === 0) {
        resolve(report);
        return;
      }
      const why =
        signal === 'SIGKILL'
          ? `stopped answering for ${stallMilliseconds} ms (a hang)`
          : `died (${signal ?? `exit ${code}`}, an out-of-memory abort or a crash)`;
      resolve({
        report: {
          target: name,
          iterations: lastProgress,
          accepted: 0,
          rejectedByCode: {},
          slowestMilliseconds: 0,
          peakHeapBytes: 0,
          failures: [`the ${name} fuzzer ${why} within inputs ${lastProgress}…${lastProgress + 100} of seed ${seed}`],
        },
      });
    });
  });
}

const childIndex = process.argv.indexOf('--child');
if (childIndex >= 0) {
  await child(process.argv[childIndex + 1] as TargetName, Number(option('seconds', '30')));
} else {
  const names = option('targets', TARGETS.join(','))
    .split(',')
    .filter((name): name is TargetName => (TARGETS as readonly string[]).includes(name));
  const seconds = Number(option('seconds', '30'));
  const share = seconds / Math.max(1, names.length);
  console.log(`fuzzing ${names.join(', ')} for ${share.toFixed(1)} s each with seed ${seed}`);
  const reports: (Omit<TargetReport, 'failures'> & { failures: string[] })[] = [];
  for (const name of names) {
    const { report } = (await supervise(name, share)) as {
      report: Omit<TargetReport, 'failures'> & { failures: string[] };
    };
    reports.push(report);
    console.log(
      `${name}: ${report.iterations} inputs, ${report.accepted} accepted, rejected by code ${JSON.stringify(report.rejectedByCode)}, ` +
        `slowest ${report.slowestMilliseconds.toFixed(0)} ms, peak heap ${(report.peakHeapBytes / 2 ** 20).toFixed(0)} MiB`,
    );
    for (const failure of report.failures) console.error(`FAILURE (${name}): ${failure}\n`);
  }
  const jsonFile = option('json', '');
  if (jsonFile !== '') writeFileSync(jsonFile, `${JSON.stringify({ seed, reports }, null, 2)}\n`);
  const failed = reports.reduce((sum, report) => sum + report.failures.length, 0);
  if (failed > 0) {
    console.error(`${failed} failure(s); reproduce with --seed ${seed}`);
    process.exitCode = 1;
  }
}
