// What choosing a token costs the GPU over a vocabulary of logits (128,256 by default, Llama 3's): `argmax` (greedy)
// and `sampleToken` with the parameters servers send (an OpenAI request without sampling fields: temperature 1 and no
// filter; llama-server's defaults: temperature 0.8, top-k 40, top-p 0.95, min-p 0.05; top-p 0.9 alone; top-k 256,
// the largest the slices take, with top-p 0.95). Each dispatch runs in a pass of its own between two timestamps
// (`DispatchTimer`; each such timing adds some µs). Printed: the median over the runs of µs per kernel (its dispatches
// added up) and per choice, and the wall time of a choice read back. Plain temperature sampling and top-p alone run the selection over the whole vocabulary (`radix-select.ts`);
// top-k up to 256 (llama-server's 40, and the bound itself) runs the k best of each slice merged down to k
// (`top-k-slices.ts`, kernel `sample-token:top-k`: one dispatch per level).
// Run: `pnpm exec tsx --tsconfig tsconfig.json packages/kernels-webgpu/bench/sampling-cost.ts [VOCABULARY]`, or
// bundled for the GPU machine like dispatch-cost.ts (`diagnose.sh sampling`).
import { samplingParameters } from '@strata/backend-conformance';
import type { SamplingParameters } from '@strata/core';
import { DispatchTimer } from '../src/runtime/dispatch-timer.js';
import { createWebGpuBackend } from '../src/webgpu-backend.js';

const RUNS = 9;

const CASES: readonly { readonly name: string; readonly parameters?: SamplingParameters }[] = [
  { name: 'greedy (argmax)' },
  { name: 'temperature 1, no filter', parameters: samplingParameters({ random: 0.37 }) },
  {
    name: 'temperature 0.8, top-k 40, top-p 0.95, min-p 0.05',
    parameters: samplingParameters({ temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05, random: 0.37 }),
  },
  { name: 'temperature 1, top-p 0.9', parameters: samplingParameters({ topP: 0.9, random: 0.37 }) },
  {
    name: 'temperature 0.8, top-k 256, top-p 0.95',
    parameters: samplingParameters({ temperature: 0.8, topK: 256, topP: 0.95, random: 0.37 }),
  },
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
    // Per kernel: the µs of each run (its dispatches added up) and its dispatches per choice.
    const kernels = new Map<string, { runs: number[]; calls: number }>();
    for (let run = 0; run < RUNS; run++) {
      const timer = new DispatchTimer(backend.device, 64);
      recorder.timer = timer;
      const started = performance.now();
      const token = choose();
      recorder.timer = undefined;
      await backend.read(token);
      walls.push(performance.now() - started);
      const sums = new Map<string, { microseconds: number; calls: number }>();
      for (const timing of await timer.read()) {
        const sum = sums.get(timing.key) ?? { microseconds: 0, calls: 0 };
        sum.microseconds += timing.nanoseconds / 1000;
        sum.calls += 1;
        sums.set(timing.key, sum);
      }
      for (const [key, sum] of sums) {
        const entry = kernels.get(key) ?? { runs: [], calls: sum.calls };
        entry.runs.push(sum.microseconds);
        kernels.set(key, entry);
      }
    }
    const perKernel = [...kernels.entries()].map(([key, entry]) => ({
      key,
      microseconds: median(entry.runs),
      calls: entry.calls,
    }));
    const total = perKernel.reduce((sum, entry) => sum + entry.microseconds, 0);
    process.stdout.write(
      `${name}: GPU ${total.toFixed(1)} µs, read back ${median(walls).toFixed(2)} ms wall — ${perKernel.map((entry) => `${entry.key} ${entry.calls}× ${entry.microseconds.toFixed(1)} µs`).join(', ')}\n`,
    );
  }
  backend.destroy();
}

await main();
