// The mat-vec benchmark's settings: command-line flags, the time budget, the shapes and the output helpers every
// section shares.
import type { Timing } from './gpu-timer.js';

/** `--quick`: small shapes and short batches (a smoke run, on lavapipe say). */
export const QUICK = process.argv.includes('--quick');
/**
 * `--quant`: only the Q4_K/Q6_K/Q8_0 one-row kernels: every variant of `quant-variants.ts` checked against the CPU,
 * then timed beside the wide kernel (first and last), one table per type.
 */
export const QUANT_ONLY = process.argv.includes('--quant');
/** `--tiled`: only the prefill mat-mul, every tiling on the 1B and 8B shapes (correctness first). */
export const TILED_ONLY = process.argv.includes('--tiled');
/**
 * `--batch`: only the products of a batched decode step (16, 32 and 64 input rows): each tiling beside the row-group
 * mat-vec run once per 8 rows, on the 1B and 8B shapes.
 */
export const BATCH_ONLY = process.argv.includes('--batch');
/**
 * `--int8`: only the int8 prefill path (quantize + int8 GEMM, `tuning.int8Prefill`) beside the f32 tiled kernel, Q8_0
 * and Q4_K at 512 rows, each int8 variant checked against the CPU first; the device is opened with Dawn's
 * `allow_unsafe_apis` and subgroup matrices when the adapter lists them.
 */
export const INT8_ONLY = process.argv.includes('--int8');
/** Seconds after which the long tables stop (`BENCH_BUDGET_SECONDS`, default 420). */
export const BUDGET_SECONDS = Number(process.env.BENCH_BUDGET_SECONDS ?? 420);
const started = performance.now();
/** Seconds since the benchmark started. */
export const elapsed = () => (performance.now() - started) / 1000;
/** True once the time budget is spent. */
export const overBudget = () => elapsed() > BUDGET_SECONDS;

/** `[out, columns]` weight shapes of the mat-vec tables. */
export const SHAPES: readonly [number, number][] = QUICK
  ? [
      [256, 1024],
      [512, 2048],
    ]
  : [
      [4096, 4096],
      [14336, 4096],
      [4096, 14336],
      [128256, 4096],
    ];
/** `[out, columns]` of the products of a batched decode step on the 1B and 8B shapes (Q/K/V, K or V, gate·up, down). */
export const DECODE_STEP_SHAPES: readonly [number, number][] = [
  [2048, 2048],
  [512, 2048],
  [8192, 2048],
  [2048, 8192],
  [4096, 4096],
  [14336, 4096],
  [4096, 14336],
];

/** Bytes of distinct weight copies rotated through, so the L2 cache (60 MB on an H200) cannot serve them. */
export const ROTATION_BYTES = QUICK ? 64 << 20 : 1 << 30;
/** Bytes of weights read per timed batch. */
export const BATCH_BYTES = QUICK ? 256 << 20 : 16e9;

/** Prints one line of the report. */
export function log(line = ''): void {
  console.log(line);
}

/** Seconds of a timing: GPU timestamps when the device has them, else wall time. */
export function seconds(timing: Timing): number {
  return timing.gpuSeconds ?? timing.wallSeconds;
}

/** Gigabytes per second of `bytes` read in `timing`, rounded. */
export function gbps(bytes: number, timing: Timing): string {
  return (bytes / seconds(timing) / 1e9).toFixed(0);
}

/**
 * Keeps the GPU busy with `work` for `milliseconds` (200 with `--quick`) before a section times anything: the SM
 * clocks drop while the GPU idles, and the first rows timed after an idle spell ran 2–3× slow.
 */
export async function warmUp(milliseconds: number, work: () => Promise<unknown>): Promise<void> {
  const until = performance.now() + (QUICK ? 200 : milliseconds);
  while (performance.now() < until) await work();
}
