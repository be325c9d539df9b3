/**
 * Where the GPU time of a captured decode step goes: replays the step with every dispatch in its own compute pass
 * between two GPU timestamps and sums the times by kernel (shader key), next to the CPU time of a normal replay.
 * Needs `timestamp-query`. Per-pass timestamps add a little per dispatch; the total is printed beside the step's wall
 * time from a normal run.
 *
 *   pnpm exec tsx --conditions=@strata/source packages/pipeline/bench/step-profile.ts --model llama-3.2-1b --type F16
 *
 * `--split-keys N` sets the fewest keys per split of decode attention (`WebGpuTuning.decodeAttentionMinKeysPerSplit`).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createWebGpuBackend } from '@strata/kernels-webgpu';
import { openModelFiles } from '@strata/loaders/node';
import { TextPipeline } from '@strata/pipeline';
import { type FileType, MODELS, writeRandomGguf } from './random-gguf.js';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'llama-3.2-1b' },
    type: { type: 'string', default: 'F16' },
    dir: { type: 'string', default: '/tmp/strata-bench' },
    context: { type: 'string', default: '512' },
    top: { type: 'string', default: '14' },
    // Dawn instance flags separated by ';', e.g. 'enable-dawn-features=skip_validation,disable_robustness'.
    'dawn-flags': { type: 'string', default: '' },
    // Dispatches per queue submission while a step is encoded (the recorder's default when empty).
    'submit-every': { type: 'string', default: '' },
    // Fewest keys per split of the decode attention kernel (WebGpuTuning.decodeAttentionMinKeysPerSplit; the
    // backend's default when empty), e.g. 16, 32 or 64.
    'split-keys': { type: 'string', default: '' },
  },
});
const dimensions = MODELS[values.model!];
if (dimensions === undefined) throw new Error(`unknown model ${values.model}`);
mkdirSync(values.dir!, { recursive: true });
const path = `${values.dir}/${values.model}-${values.type}.gguf`;
if (!existsSync(path)) await writeRandomGguf(dimensions, values.type as FileType, path);
const backend = await createWebGpuBackend({
  powerPreference: 'high-performance',
  dawnFlags: values['dawn-flags']!.split(';').filter((flag) => flag !== ''),
  tuning: values['split-keys'] === '' ? {} : { decodeAttentionMinKeysPerSplit: Number(values['split-keys']) },
});
const device = backend.device;
if (!backend.features.timestampQuery) throw new Error('step-profile needs the timestamp-query feature');
const context = Number(values.context);
const pipeline = await TextPipeline.load(await openModelFiles(path), {
  backend,
  contextLength: context + 8,
  cacheType: 'f16',
});
const recorder = backend.runtime.recorder;
if (values['submit-every'] !== '') recorder.submitEvery = Number(values['submit-every']);
type Commands = Parameters<typeof recorder.replay>[0];
let captured: Commands | undefined;
const replay = recorder.replay.bind(recorder);
let replayMs: number[] = [];
recorder.replay = (commands) => {
  captured = commands;
  const started = performance.now();
  replay(commands);
  replayMs.push(performance.now() - started);
};
// Fill the cache to `context` tokens, then time decode steps.
const prompt = Array.from({ length: context - 64 }, (_, index) => 1 + (index % 1000));
const steps = 64;
const started = performance.now();
replayMs = [];
const { stats } = await pipeline.generate(prompt, { maxTokens: steps, ignoreEndOfGeneration: true, temperature: 0 })
  .result;
const wallMs = performance.now() - started;
const sortedReplay = [...replayMs].sort((a, b) => a - b);
const dispatches = captured?.filter((command) => command.kind === 'dispatch') ?? [];
const replayMedianMs = sortedReplay[Math.floor(sortedReplay.length / 2)] ?? 0;
process.stdout.write(
  `${values.model} ${values.type}: ${dispatches.length} dispatches per decode step; replay (CPU) median ${(replayMedianMs * 1000).toFixed(0)} µs = ${((replayMedianMs * 1000) / Math.max(1, dispatches.length)).toFixed(2)} µs per dispatch; ${steps} tokens incl. prefill in ${wallMs.toFixed(0)} ms; decode ${stats.decodeTokensPerSecond.toFixed(1)} tok/s at ${context} tokens (submit every ${recorder.submitEvery}; decode attention splits of ${backend.runtime.tuning.decodeAttentionMinKeysPerSplit}+ keys)\n`,
);

// One profiled replay: each dispatch in its own pass with timestamps at both ends.
if (captured !== undefined) {
  const count = dispatches.length;
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 * count });
  const resolve = device.createBuffer({
    size: 16 * count,
    usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
  });
  const readBack = device.createBuffer({ size: 16 * count, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const totals = new Map<string, { ns: number; calls: number }>();
  for (let repetition = 0; repetition < 5; repetition++) {
    const encoder = device.createCommandEncoder();
    let index = 0;
    for (const command of captured) {
      if (command.kind === 'dispatch') {
        const pass = encoder.beginComputePass({
          timestampWrites: { querySet, beginningOfPassWriteIndex: 2 * index, endOfPassWriteIndex: 2 * index + 1 },
        });
        pass.setPipeline(command.pipeline);
        pass.setBindGroup(0, command.bindGroup, command.dynamicOffsets, 0, 1);
        pass.dispatchWorkgroups(command.x, command.y, command.z);
        pass.end();
        index++;
      } else if (command.kind === 'copy') {
        encoder.copyBufferToBuffer(
          command.source,
          command.sourceOffset,
          command.target,
          command.targetOffset,
          command.size,
        );
      } else encoder.clearBuffer(command.target, command.offset, command.size);
    }
    encoder.resolveQuerySet(querySet, 0, 2 * count, resolve, 0);
    encoder.copyBufferToBuffer(resolve, 0, readBack, 0, 16 * count);
    device.queue.submit([encoder.finish()]);
    await readBack.mapAsync(GPUMapMode.READ);
    const stamps = new BigUint64Array(readBack.getMappedRange().slice(0));
    readBack.unmap();
    if (repetition < 2) continue; // warm-up
    dispatches.forEach((command, position) => {
      const ns = Number(stamps[2 * position + 1]! - stamps[2 * position]!);
      const kernel = command.key.replace(/:r=\d+.*$/, '');
      const entry = totals.get(kernel) ?? { ns: 0, calls: 0 };
      entry.ns += ns / 3;
      entry.calls += 1 / 3;
      totals.set(kernel, entry);
    });
  }
  const total = [...totals.values()].reduce((sum, entry) => sum + entry.ns, 0);
  process.stdout.write(`GPU time of one step, dispatches timed one by one: ${(total / 1000).toFixed(0)} µs\n`);
  const rows = [...totals.entries()].sort((a, b) => b[1].ns - a[1].ns).slice(0, Number(values.top));
  for (const [kernel, entry] of rows) {
    process.stdout.write(
      `  ${(entry.ns / 1000).toFixed(1).padStart(8)} µs  ${((100 * entry.ns) / total).toFixed(1).padStart(5)}%  ${entry.calls.toFixed(0).padStart(4)}×  ${kernel}\n`,
    );
  }
}

// Ablation: the step replayed back to back in ONE compute pass (as the GPU really runs it, no per-dispatch passes),
// timed by two timestamps around the pass; then the same without each kernel family, so that the difference is what
// that family costs in the real stream (launch gaps included). Data stays finite (the skipped kernels' outputs keep
// their last values), which is all timing needs.
if (captured !== undefined) {
  const family = (key: string) => key.split(':')[0]!;
  const families = [...new Set(dispatches.map((command) => family(command.key)))];
  const querySet = device.createQuerySet({ type: 'timestamp', count: 2 });
  const resolve = device.createBuffer({ size: 16, usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC });
  const readBack = device.createBuffer({ size: 16, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
  const repeats = 20;
  const timeSteps = async (skip: string | undefined): Promise<{ gpu: number; wall: number }> => {
    const results: { gpu: number; wall: number }[] = [];
    for (let attempt = 0; attempt < 4; attempt++) {
      const started = performance.now();
      const encoder = device.createCommandEncoder();
      const pass = encoder.beginComputePass({
        timestampWrites: { querySet, beginningOfPassWriteIndex: 0, endOfPassWriteIndex: 1 },
      });
      for (let repeat = 0; repeat < repeats; repeat++) {
        for (const command of dispatches) {
          if (skip !== undefined && family(command.key) === skip) continue;
          pass.setPipeline(command.pipeline);
          pass.setBindGroup(0, command.bindGroup, command.dynamicOffsets, 0, 1);
          pass.dispatchWorkgroups(command.x, command.y, command.z);
        }
      }
      pass.end();
      encoder.resolveQuerySet(querySet, 0, 2, resolve, 0);
      encoder.copyBufferToBuffer(resolve, 0, readBack, 0, 16);
      device.queue.submit([encoder.finish()]);
      await readBack.mapAsync(GPUMapMode.READ);
      const stamps = new BigUint64Array(readBack.getMappedRange().slice(0));
      readBack.unmap();
      const wall = performance.now() - started;
      if (attempt > 0)
        results.push({ gpu: Number(stamps[1]! - stamps[0]!) / 1000 / repeats, wall: (wall * 1000) / repeats });
    }
    results.sort((a, b) => a.gpu - b.gpu);
    return results[Math.floor(results.length / 2)]!;
  };
  const whole = await timeSteps(undefined);
  process.stdout.write(
    `ablation: one step in one pass: GPU ${whole.gpu.toFixed(0)} µs, wall ${whole.wall.toFixed(0)} µs (${repeats} steps per submit)\n`,
  );
  for (const name of families) {
    const calls = dispatches.filter((command) => family(command.key) === name).length;
    const without = await timeSteps(name);
    process.stdout.write(
      `  ${(whole.gpu - without.gpu).toFixed(0).padStart(6)} µs  ${calls.toString().padStart(4)}×  ${name} (${((whole.gpu - without.gpu) / calls).toFixed(1)} µs per call)\n`,
    );
  }
}
await pipeline.dispose();
backend.destroy();
