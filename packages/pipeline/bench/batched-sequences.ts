// What the batched-step benchmarks (batch-bench.ts, batch-profile.ts) share: their common options, the random-weight
// model file, the distinct prompts of B sequences and the median; and, with prefill-profile.ts, the timed dispatches
// summed by kernel.
import { existsSync, mkdirSync } from 'node:fs';
import type { WebGpuTuning } from '@strata/kernels-webgpu';
import type { Scheduler } from '@strata/pipeline';
import { type FileType, type LlamaDimensions, MODELS, writeRandomGguf } from './random-gguf.js';

/** The `parseArgs` options both benchmarks take; `sequences` and `tokens` default per benchmark. */
export function batchedOptions(sequences: string, tokens: string) {
  return {
    model: { type: 'string', default: 'llama-3.2-1b' },
    type: { type: 'string', default: 'Q4_K_M' },
    dir: { type: 'string', default: '/tmp/strata-bench' },
    sequences: { type: 'string', default: sequences },
    tokens: { type: 'string', default: tokens },
    'int8-batch': { type: 'string', default: '0' },
    'int8-gemm': { type: 'string', default: 'off' },
  } as const;
}

/**
 * The int8 tunings of the batched products from `--int8-batch N` (`WebGpuTuning.int8BatchRows`) and `--int8-gemm`
 * (`int8BatchGemm`: `off`, the default, `on`, or a tiling as JSON for `int8BatchGemmTiling`).
 */
export function int8BatchTuning(values: {
  'int8-batch'?: string;
  'int8-gemm'?: string;
}): Pick<WebGpuTuning, 'int8BatchRows' | 'int8BatchGemm' | 'int8BatchGemmTiling'> {
  const gemm = values['int8-gemm'] ?? 'off';
  const int8BatchRows = Number(values['int8-batch'] ?? 0);
  if (gemm === 'on' || gemm === 'off') return { int8BatchRows, int8BatchGemm: gemm === 'on' };
  const int8BatchGemmTiling = JSON.parse(gemm) as WebGpuTuning['int8BatchGemmTiling'];
  return { int8BatchRows, int8BatchGemm: true, ...(int8BatchGemmTiling === undefined ? {} : { int8BatchGemmTiling }) };
}

/** The random-weight GGUF file of `model` and `type` in `dir` (written when missing) and the model's dimensions. */
export async function randomModelFile(
  model: string,
  type: string,
  dir: string,
): Promise<{ path: string; dimensions: LlamaDimensions }> {
  const dimensions = MODELS[model];
  if (dimensions === undefined) throw new Error(`unknown model ${model}`);
  mkdirSync(dir, { recursive: true });
  const path = `${dir}/${model}-${type}.gguf`;
  if (!existsSync(path)) await writeRandomGguf(dimensions, type as FileType, path);
  return { path, dimensions };
}

/** The 12-token prompt of sequence `index`: ordinary ids, different for every sequence. */
export function distinctPrompt(index: number, vocabulary: number): number[] {
  return Array.from({ length: 12 }, (_, position) => 260 + ((index * 37 + position * 11) % (vocabulary - 260)));
}

/** Runs `count` greedy sequences of `tokens` generated tokens each (distinct prompts) to the end; their results. */
export function runSequences(scheduler: Scheduler, count: number, vocabulary: number, tokens: number) {
  return Promise.all(
    Array.from(
      { length: count },
      (_, index) =>
        scheduler.submit(distinctPrompt(index, vocabulary), {
          maxTokens: tokens,
          temperature: 0,
          ignoreEndOfGeneration: true,
        }).result,
    ),
  );
}

/** The median of `list` (NaN when empty). */
export function median(list: readonly number[]): number {
  return [...list].sort((a, b) => a - b)[Math.floor(list.length / 2)] ?? Number.NaN;
}

/** GPU time and calls of one kernel family over a run of timed dispatches. */
export interface KernelTotal {
  /** Shader key up to its size fields. */
  readonly kernel: string;
  /** Nanoseconds over every timed dispatch of the family. */
  readonly nanoseconds: number;
  /** Timed dispatches of the family. */
  readonly calls: number;
}

/**
 * `timings` (from `DispatchTimer.read`) summed by kernel family, the shader key up to its first size field (`:r=`,
 * `:b=`, `:wg=`, `:n=`, `:c=`, `:k=`, `:t=`, `:w=`), the largest first.
 */
export function totalsByKernel(timings: readonly { key: string; nanoseconds: number }[]): KernelTotal[] {
  const totals = new Map<string, { nanoseconds: number; calls: number }>();
  for (const timing of timings) {
    const kernel = timing.key.split(/:(?:r|b|wg|n|c|k|t|w)=/)[0]!;
    const entry = totals.get(kernel) ?? { nanoseconds: 0, calls: 0 };
    totals.set(kernel, { nanoseconds: entry.nanoseconds + timing.nanoseconds, calls: entry.calls + 1 });
  }
  return [...totals.entries()]
    .map(([kernel, entry]) => ({ kernel, ...entry }))
    .sort((left, right) => right.nanoseconds - left.nanoseconds);
}
