/**
 * Per-decode-step CPU profile of the WebGPU path on a small random llama (realistic layer count, tiny widths): JS time
 * recording a step (embed → layers → lm head → token choice) apart from the wait in `read`, and counts per step of
 * dispatches, bind group / buffer creations, writeBuffer calls and submits.
 *
 *   pnpm exec tsx packages/pipeline/bench/decode-profile.ts --layers 16 --steps 64 --type Q4_K_M
 *   (or --file model.gguf: profile an existing model file; --eager: record every step op by op, no captured plan)
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createWebGpuBackend } from '@strata/kernels-webgpu';
import { openModelFiles } from '@strata/loaders/node';
import { TextPipeline } from '@strata/pipeline';
import { type FileType, writeRandomGguf } from './random-gguf.js';

const { values } = parseArgs({
  options: {
    layers: { type: 'string', default: '16' },
    steps: { type: 'string', default: '64' },
    type: { type: 'string', default: 'Q4_K_M' },
    hidden: { type: 'string', default: '256' },
    file: { type: 'string' },
    eager: { type: 'boolean', default: false },
    'submit-every': { type: 'string' },
  },
});
const layers = Number(values.layers);
const hidden = Number(values.hidden);
const type = values.type as FileType;
const path = values.file ?? `/tmp/decode-profile-${layers}-${hidden}-${type}.gguf`;
if (!existsSync(path)) {
  await writeRandomGguf(
    {
      name: 'profile llama',
      hidden,
      layers,
      heads: 4,
      keyValueHeads: 2,
      feedForward: hidden * 2,
      vocabulary: 512,
      tied: true,
      ropeBase: 10000,
      contextLength: 2048,
    },
    type,
    path,
  );
}
const backend = await createWebGpuBackend({ powerPreference: 'high-performance' });
const pipeline = await TextPipeline.load(await openModelFiles(path), {
  backend,
  contextLength: 512,
  chunkSize: 64,
  capturedDecode: !values.eager,
});
const device = backend.device;
const counts = { dispatch: 0, bindGroup: 0, buffer: 0, writeBuffer: 0, submit: 0, encoder: 0 };
const wrap = <T extends object>(target: T, name: keyof T & string, counter: keyof typeof counts) => {
  const original = (target[name] as (...args: unknown[]) => unknown).bind(target);
  (target as Record<string, unknown>)[name] = (...args: unknown[]) => {
    counts[counter]++;
    return original(...args);
  };
};
wrap(device, 'createBindGroup', 'bindGroup');
wrap(device, 'createBuffer', 'buffer');
wrap(device, 'createCommandEncoder', 'encoder');
wrap(device.queue, 'writeBuffer', 'writeBuffer');
wrap(device.queue, 'submit', 'submit');
wrap(backend.runtime.recorder, 'dispatch', 'dispatch');
const recorder = backend.runtime.recorder;
if (values['submit-every'] !== undefined) recorder.submitEvery = Number(values['submit-every']);
const replay = recorder.replay.bind(recorder);
let replayMs = 0;
const replaySamples: number[] = [];
recorder.replay = (commands) => {
  for (const command of commands) if (command.kind === 'dispatch') counts.dispatch++;
  const started = performance.now();
  replay(commands);
  replayMs += performance.now() - started;
  replaySamples.push(performance.now() - started);
};
let readStart = 0;
let recordMs = 0;
const recordSamples: number[] = [];
let waitMs = 0;
let stepStart = performance.now();
const originalRead = backend.read.bind(backend);
backend.read = async (tensor) => {
  readStart = performance.now();
  recordMs += readStart - stepStart;
  recordSamples.push(readStart - stepStart);
  const result = await originalRead(tensor);
  const end = performance.now();
  waitMs += end - readStart;
  stepStart = end;
  return result;
};
const steps = Number(values.steps);
for (let run = 0; run < 3; run++) {
  await pipeline.reset();
  for (const key of Object.keys(counts) as (keyof typeof counts)[]) counts[key] = 0;
  recordMs = 0;
  replayMs = 0;
  replaySamples.length = 0;
  recordSamples.length = 0;
  waitMs = 0;
  let generated = 0;
  const started = performance.now();
  stepStart = started;
  const generation = pipeline.generate([1], { ignoreEndOfGeneration: true, temperature: 0, maxTokens: steps + 1 });
  for await (const _ of generation) generated++;
  const total = performance.now() - started;
  const per = (value: number) => (value / (steps + 1)).toFixed(1);
  const sorted = [...recordSamples].sort((a, b) => a - b);
  const median = sorted[Math.floor(sorted.length / 2)]! * 1000;
  process.stdout.write(
    `run ${run}: ${generated} tokens, ${((total / (steps + 1)) * 1000).toFixed(0)} µs/step total, record ${(
      (recordMs / (steps + 1)) * 1000
    ).toFixed(
      0,
    )} µs/step (median ${median.toFixed(0)}, min ${(sorted[0]! * 1000).toFixed(0)}), replay ${((replayMs / (steps + 1)) * 1000).toFixed(0)} µs/step (median ${(
      ([...replaySamples].sort((a, b) => a - b)[Math.floor(replaySamples.length / 2)] ?? 0) * 1000
    ).toFixed(
      0,
    )} µs, ${(((replayMs * 1000) / Math.max(1, counts.dispatch)) * (steps + 1)).toFixed(2)} µs/dispatch mean), read-wait ${((waitMs / (steps + 1)) * 1000).toFixed(0)} µs/step; per step: ${Object.entries(
      counts,
    )
      .map(([key, value]) => `${key} ${per(value)}`)
      .join(', ')}\n`,
  );
}
await pipeline.dispose();
backend.destroy();
