// What choosing a token costs the GPU over a vocabulary of logits (128,256 by default, Llama 3's): `argmax` (greedy) and
// `sampleToken` with the parameters servers send (an OpenAI request without sampling fields: temperature 1 and no
// filter; llama-server's defaults: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05; top-p 0.9 alone), each dispatch
// in a pass of its own between two timestamps (`DispatchTimer`), median of the runs, µs per kernel and per choice, and
// the wall time of a choice read back. Plain temperature sampling and a top-p that keeps more than 512 tokens run the
// bisection kernel (one workgroup, about 33 passes over the vocabulary per bisection), the others the candidates
// kernel (radix select in one workgroup).
// Run: `pnpm exec tsx --tsconfig tsconfig.json packages/kernels-webgpu/bench/sampling-cost.ts [VOCABULARY]`, or
// bundled for the GPU machine like dispatch-cost.ts (`diagnose.sh sampling`).
import type { SamplingParameters } from '@strata/core';
import { DispatchTimer } from '../src/runtime/dispatch-timer.js';
import { createWebGpuBackend } from '../src/webgpu-backend.js';

const RUNS = 9;

const NO_PENALTIES = {
  random: 0.37,
  penaltyTokens: new Int32Array(0),
  penaltyCounts: new Int32Array(0),
  repetitionPenalty: 1,
  presencePenalty: 0,
  frequencyPenalty: 0,
  logitBiasTokens: new Int32Array(0),
  logitBiasValues: new Float32Array(0),
};

const CASES: readonly { readonly name: string; readonly parameters?: SamplingParameters }[] = [
  { name: 'greedy (argmax)' },
  { name: 'temperature 1, no filter', parameters: { ...NO_PENALTIES, temperature: 1, topK: 0, topP: 1, minP: 0 } },
  {
    name: 'temperature 0.8, top-k 40, top-p 0.95, min-p 0.05',
    parameters: { ...NO_PENALTIES, temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05 },
  },
  { name: 'temperature 1, top-p 0.9', parameters: { ...NO_PENALTIES, temperature: 1, topK: 0, topP: 0.9, minP: 0 } },
];

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const vocabulary = Number(process.argv[2] ?? 128256);
  const backend = await createWebGpuBackend({
    powerPreference: 'high-performance',
    dawnFlags: ['disable-dawn-features=timestamp_quantization'],
  });
  if (!backend.features.timestampQuery) throw new Error('sampling-cost needs the timestamp-query feature');
  // Logits like a model's: a few large values over a broad low tail (seeded, so every run chooses alike).
  let state = 12345;
  const random = () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state / 4294967296;
  };
  const values = Float32Array.from({ length: vocabulary }, () => 4 * random() ** 8 + random());
  const logits = backend.upload(values, [1, vocabulary]);
  const recorder = backend.runtime.recorder;
  process.stdout.write(`# token choice over ${vocabulary} logits (median of ${RUNS} runs)\n`);
  for (const { name, parameters } of CASES) {
    const choose = () => (parameters === undefined ? backend.argmax(logits) : backend.sampleToken(logits, parameters));
    await backend.read(choose()); // compiles
    const walls: number[] = [];
    const kernels = new Map<string, number[]>();
    for (let run = 0; run < RUNS; run++) {
      const timer = new DispatchTimer(backend.device, 16);
      recorder.timer = timer;
      const started = performance.now();
      const token = choose();
      recorder.timer = undefined;
      await backend.read(token);
      walls.push(performance.now() - started);
      for (const timing of await timer.read()) {
        const list = kernels.get(timing.key) ?? [];
        list.push(timing.nanoseconds / 1000);
        kernels.set(timing.key, list);
      }
    }
    const perKernel = [...kernels.entries()].map(([key, list]) => ({ key, microseconds: median(list) }));
    const total = perKernel.reduce((sum, entry) => sum + entry.microseconds, 0);
    process.stdout.write(
      `${name}: GPU ${total.toFixed(1)} µs, read back ${median(walls).toFixed(2)} ms wall — ${perKernel.map((entry) => `${entry.key} ${entry.microseconds.toFixed(1)} µs`).join(', ')}\n`,
    );
  }
  backend.destroy();
}

await main();
