/**
 * Batched decode in one process, without HTTP: a scheduler over a random-weight GGUF file runs B greedy sequences at
 * once (B = 1, 8, 16, 32, 64 by default), each a short distinct prompt and `--tokens` generated tokens, and prints per
 * B the median engine-step time of the decode steps (every sequence one row), the aggregate generated tokens per
 * second over the whole run (prefill included) and the step rate. Each B runs twice; the first compiles its kernels. `--batch-matvec off` runs the products of 9–32 rows
 * on the prefill tile instead of the mat-vec row groups (`WebGpuTuning.batchMatvec`), for an A/B on one GPU;
 * `--quant-batch N` (2…8) runs the products of Q4_K and Q6_K weights on their one-row kernels over row groups of up
 * to N rows instead of the multi-row mat-vec (`WebGpuTuning.batchQuantRows`; 0, the default, leaves it off);
 * `--int8-batch N` (2…32) runs the products of N or more rows with Q4_K weights on 8-bit inputs
 * (`WebGpuTuning.int8BatchRows`; 0, the default, leaves it off), and those with Q4_K
 * and Q8_0 weights on the int8 GEMM where the device has subgroup matrices (`--int8-gemm on`; `off`, the default, or
 * tiles as JSON: `int8BatchGemm`, `int8BatchGemmTiling`). `--ahead off`
 * runs every step after the previous one was read back (`SchedulerOptions.stepAhead: false`); `on` (the default)
 * launches each decode step while the previous one is read back, and the table's last column counts the decode steps
 * whose forward was launched ahead. `--captured on` (the default) replays a captured step per row count for
 * decode-only steps (`capturedDecode`); `off` records every step.
 *
 *   pnpm exec tsx --conditions=@strata/source packages/pipeline/bench/batch-bench.ts --model llama-3.2-1b --type Q4_K_M
 *     [--sequences 1,8,16,32,64] [--tokens 64] [--backend webgpu|cpu] [--batch-matvec on|off] [--quant-batch 0…8]
 *     [--int8-batch 0…32] [--int8-gemm on|off|JSON]
 *     [--ahead on|off] [--captured on|off]
 *     [--dir /tmp/strata-bench]
 */
import { parseArgs } from 'node:util';
import type { Backend } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { createWebGpuBackend } from '@strata/kernels-webgpu';
import { openModelFiles } from '@strata/loaders/node';
import { loadScheduler, type StepReport } from '@strata/pipeline';
import { batchedOptions, int8BatchTuning, median, randomModelFile, runSequences } from './batched-sequences.js';

const { values } = parseArgs({
  options: {
    ...batchedOptions('1,8,16,32,64', '64'),
    backend: { type: 'string', default: 'webgpu' },
    'batch-matvec': { type: 'string', default: 'on' },
    'quant-batch': { type: 'string', default: '0' },
    ahead: { type: 'string', default: 'on' },
    captured: { type: 'string', default: 'on' },
  },
});
/** The value of the on/off flag `--name`; throws on anything else. */
function onOff(name: 'ahead' | 'captured'): boolean {
  const value = values[name];
  if (value !== 'on' && value !== 'off') throw new Error(`--${name} is on or off; got ${value}`);
  return value === 'on';
}
const stepAhead = onOff('ahead');
const capturedDecode = onOff('captured');
const { path, dimensions } = await randomModelFile(values.model, values.type, values.dir);
const counts = values.sequences!.split(',').map(Number);
const tokens = Number(values.tokens);
const largest = Math.max(...counts);
const backend: Backend =
  values.backend === 'cpu'
    ? createCpuBackend()
    : await createWebGpuBackend({
        powerPreference: 'high-performance',
        tuning: {
          batchMatvec: values['batch-matvec'] !== 'off',
          batchQuantRows: Number(values['quant-batch']),
          ...int8BatchTuning(values),
        },
      });
const reports: StepReport[] = [];
const scheduler = await loadScheduler(await openModelFiles(path), {
  backend,
  parallel: largest,
  contextLength: 256,
  cacheType: 'f16',
  stepAhead,
  capturedDecode,
  onStep: (report) => reports.push(report),
});
process.stdout.write(
  `${values.model} ${values.type} on ${values.backend}, batch mat-vec ${values['batch-matvec']}, quantized batch rows ${values['quant-batch']}, int8 from ${values['int8-batch']} rows, int8 GEMM ${values['int8-gemm']}, step ahead ${values.ahead}, captured decode ${values.captured}, ${tokens} tokens per sequence\n`,
);
process.stdout.write(
  '| sequences | decode step ms (median) | steps/s | aggregate tok/s | decode steps launched ahead |\n|---:|---:|---:|---:|---:|\n',
);
for (const [run, count] of counts.flatMap((count) => [count, count]).entries()) {
  reports.length = 0;
  const started = performance.now();
  const results = await runSequences(scheduler, count, dimensions.vocabulary, tokens);
  const seconds = (performance.now() - started) / 1000;
  const generated = results.reduce((sum, result) => sum + result.stats.generatedTokens, 0);
  const decodeSteps = reports.filter((report) => report.rows === count && report.tokens === count);
  const stepMs = median(decodeSteps.map((report) => report.milliseconds));
  // The first run of each count compiles its kernels (the products of that many rows) and is not printed.
  if (run % 2 === 0) continue;
  const ahead = decodeSteps.filter((report) => report.ahead).length;
  process.stdout.write(
    `| ${count} | ${stepMs.toFixed(2)} | ${(1000 / stepMs).toFixed(0)} | ${(generated / seconds).toFixed(0)} | ${ahead}/${decodeSteps.length} |\n`,
  );
}
await scheduler.close();
