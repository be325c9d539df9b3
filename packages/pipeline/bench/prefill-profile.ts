/**
 * Where the GPU time of a prefill goes: loads a random-weight GGUF file (written if missing), prefills a prompt once to
 * build the kernels, then prefills another of the same length with every dispatch in a compute pass of its own between
 * two timestamps (`DispatchTimer`) and prints the GPU time by kernel (shader key up to its size fields), µs and calls,
 * beside the wall time of an untimed prefill. Each timed dispatch carries a few µs of its own pass; compare shares.
 *
 *   pnpm exec tsx --conditions=@strata/source packages/pipeline/bench/prefill-profile.ts --model llama-3-8b
 *     --type Q4_K_M [--tokens 512] [--top 16] [--f32-prefill] [--dir /tmp/strata-bench]
 */
import { parseArgs } from 'node:util';
import { createWebGpuBackend, DispatchTimer, MAX_TIMED_DISPATCHES, type TimedDispatch } from '@strata/kernels-webgpu';
import { openModelFiles } from '@strata/loaders/node';
import { TextPipeline } from '@strata/pipeline';
import { randomModelFile, totalsByKernel } from './batched-sequences.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'llama-3.2-1b' },
    type: { type: 'string', default: 'Q4_K_M' },
    tokens: { type: 'string', default: '512' },
    top: { type: 'string', default: '16' },
    'f32-prefill': { type: 'boolean', default: false },
    dir: { type: 'string', default: '/tmp/strata-bench' },
  },
});
const { path } = await randomModelFile(values.model!, values.type!, values.dir!);
const backend = await createWebGpuBackend({
  powerPreference: 'high-performance',
  dawnFlags: ['disable-dawn-features=timestamp_quantization'],
  tuning: values['f32-prefill'] ? { int8Prefill: false } : {},
});
if (!backend.features.timestampQuery) throw new Error('prefill-profile needs the timestamp-query feature');
const tokens = Number(values.tokens);
const pipeline = await TextPipeline.load(await openModelFiles(path), {
  backend,
  contextLength: tokens + 8,
  chunkSize: tokens,
  cacheType: 'f16',
});
const prompt = (seed: number) => Array.from({ length: tokens }, (_, index) => 1 + ((index * 7919 + seed) % 1000));
const prefill = async (seed: number) =>
  (await pipeline.generate(prompt(seed), { maxTokens: 1, temperature: 0 }).result).stats.prefillTokensPerSecond;
await prefill(1); // builds the kernels
const rate = await prefill(2);
const recorder = backend.runtime.recorder;
const timer = new DispatchTimer(backend.device, MAX_TIMED_DISPATCHES);
recorder.timer = timer;
await prefill(3);
recorder.timer = undefined;
await backend.flush();
const timings: TimedDispatch[] = await timer.read();
const total = timings.reduce((sum, timing) => sum + timing.nanoseconds, 0);
process.stdout.write(
  `${values.model} ${values.type}, ${tokens} tokens: prefill ${rate.toFixed(0)} tok/s untimed (${((1000 * tokens) / rate).toFixed(1)} ms); GPU ${(total / 1e6).toFixed(1)} ms over ${timings.length} dispatches timed one by one${timings.length >= MAX_TIMED_DISPATCHES ? ' (timer full: the rest untimed)' : ''}\n`,
);
for (const entry of totalsByKernel(timings).slice(0, Number(values.top))) {
  process.stdout.write(
    `  ${(entry.nanoseconds / 1e6).toFixed(2).padStart(8)} ms  ${((100 * entry.nanoseconds) / Math.max(1, total)).toFixed(1).padStart(5)}%  ${String(entry.calls).padStart(5)}×  ${entry.kernel}\n`,
  );
}
await pipeline.dispose();
backend.destroy();
process.exit(0);
