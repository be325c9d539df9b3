/**
 * Where the GPU time of a batched decode step goes: a scheduler over a random-weight GGUF file runs B greedy sequences
 * (B = 1, 8, 32 by default, each a short distinct prompt), and once every sequence decodes (steps of B rows) each
 * dispatch of the following steps runs in a pass of its own between two timestamps (`DispatchTimer`). Prints per B the
 * wall time of a decode step untimed (median, stepping ahead off, so steps do not overlap), the GPU time of a step
 * with every dispatch timed one by one, and that time by kernel family (shader key up to its first `:r=` or size
 * field), µs and calls per step. Needs `timestamp-query`; timestamps are read unquantized
 * (`disable-dawn-features=timestamp_quantization`).
 *
 *   pnpm exec tsx --conditions=@strata/source packages/pipeline/bench/batch-profile.ts --model llama-3.2-1b
 *     --type Q4_K_M [--sequences 1,8,32] [--tokens 32] [--top 12] [--quant-batch 0…8] [--int8-batch 0…32]
 *     [--int8-gemm on|off|JSON]
 *     [--dir /tmp/strata-bench]
 * (`--quant-batch N`: Q4_K and Q6_K products of several rows on their one-row kernels over row groups of up to N rows,
 * `WebGpuTuning.batchQuantRows`; 0, the default, leaves it off; `--int8-batch N`: products of N or more rows with Q4_K
 * weights on 8-bit inputs, `WebGpuTuning.int8BatchRows`; `--int8-gemm on|off|JSON`: those with Q4_K and Q8_0 weights on
 * the int8 GEMM where subgroup matrices allow, `int8BatchGemm`, `int8BatchGemmTiling`)
 */
import { parseArgs } from 'node:util';
import { createWebGpuBackend, DispatchTimer, MAX_TIMED_DISPATCHES, type TimedDispatch } from '@strata/kernels-webgpu';
import { openModelFiles } from '@strata/loaders/node';
import { loadScheduler, type StepReport } from '@strata/pipeline';
import {
  batchedOptions,
  int8BatchTuning,
  median,
  randomModelFile,
  runSequences,
  totalsByKernel,
} from './batched-sequences.js';

const { values } = parseArgs({
  options: {
    ...batchedOptions('1,8,32', '32'),
    top: { type: 'string', default: '12' },
    'quant-batch': { type: 'string', default: '0' },
  },
});
const { path, dimensions } = await randomModelFile(values.model, values.type, values.dir);
const counts = values.sequences!.split(',').map(Number);
const tokens = Number(values.tokens);
const backend = await createWebGpuBackend({
  powerPreference: 'high-performance',
  dawnFlags: ['disable-dawn-features=timestamp_quantization'],
  tuning: { batchQuantRows: Number(values['quant-batch']), ...int8BatchTuning(values) },
});
if (!backend.features.timestampQuery) throw new Error('batch-profile needs the timestamp-query feature');
const recorder = backend.runtime.recorder;
const reports: StepReport[] = [];
let onReport: ((report: StepReport) => void) | undefined;
const scheduler = await loadScheduler(await openModelFiles(path), {
  backend,
  parallel: Math.max(...counts),
  contextLength: 256,
  cacheType: 'f16',
  stepAhead: false,
  // Each dispatch is timed in a pass of its own: steps are recorded, not replayed.
  capturedDecode: false,
  onStep: (report) => {
    reports.push(report);
    onReport?.(report);
  },
});

/** Runs `count` greedy sequences of `tokens` tokens each to the end. */
async function run(count: number): Promise<void> {
  await runSequences(scheduler, count, dimensions.vocabulary, tokens);
}

process.stdout.write(`${values.model} ${values.type} on webgpu, ${tokens} tokens per sequence, stepping ahead off\n`);
for (const count of counts) {
  await run(count); // compiles the kernels of this many rows
  reports.length = 0;
  await run(count);
  const decodeSteps = reports.filter((report) => report.rows === count && report.tokens === count);
  const wallMs = median(decodeSteps.map((report) => report.milliseconds));
  // The timed run: timing starts after the first step in which every sequence decodes.
  const timer = new DispatchTimer(backend.device, MAX_TIMED_DISPATCHES);
  // Dispatches timed when each timed step ended; a step the timer's capacity cut short is left out.
  const ends: number[] = [];
  onReport = (report) => {
    if (report.rows !== count || report.tokens !== count) return;
    if (recorder.timer === undefined && timer.count === 0) recorder.timer = timer;
    else if (recorder.timer !== undefined && timer.count < timer.capacity) ends.push(timer.count);
  };
  await run(count);
  onReport = undefined;
  recorder.timer = undefined;
  await backend.flush();
  const timings: TimedDispatch[] = (await timer.read()).slice(0, ends.at(-1) ?? 0);
  const steps = Math.max(1, ends.length);
  const total = timings.reduce((sum, timing) => sum + timing.nanoseconds, 0);
  process.stdout.write(
    `\n${count} sequences: decode step ${wallMs.toFixed(2)} ms wall (median, untimed); GPU ${(total / steps / 1000).toFixed(0)} µs per step with ${(timings.length / steps).toFixed(0)} dispatches timed one by one (${steps} steps)\n`,
  );
  for (const entry of totalsByKernel(timings).slice(0, Number(values.top))) {
    process.stdout.write(
      `  ${(entry.nanoseconds / steps / 1000).toFixed(1).padStart(8)} µs  ${((100 * entry.nanoseconds) / Math.max(1, total)).toFixed(1).padStart(5)}%  ${(entry.calls / steps).toFixed(0).padStart(4)}×  ${entry.kernel}\n`,
    );
  }
}
await scheduler.close();
backend.destroy();
process.exit(0);
