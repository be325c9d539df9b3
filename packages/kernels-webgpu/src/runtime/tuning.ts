import { StrataError } from '@strata/core';
import { type SubgroupMatrixGemmTiling, subgroupMatrixTilingProblem } from '../kernels/matmul/int8/int8-gemm-shader.js';
import { MAX_GROUPED_MATVEC_ROWS, MAX_MATVEC_ROWS } from '../kernels/matmul/matvec-shader.js';
import { type QuantMatvecTunings, quantTuningProblem } from '../kernels/matmul/quant-matvec-shader.js';

/**
 * Kernel tunables a caller may set through `createWebGpuBackend({ tuning })`, for tests and benchmarks that compare
 * settings on one GPU. Every field has a default ({@link DEFAULT_WEBGPU_TUNING}); the numbers computed do not depend on
 * them beyond f32 rounding, except `int8Prefill`, which rounds prefill inputs to 8 bits, and `int8BatchRows` and
 * `quantMatvec`'s `int8` conversion, which round decode inputs.
 */
export interface WebGpuTuning {
  /**
   * Fewest keys per split of the one-row (decode) attention kernel: a step over `n` visible keys runs
   * `⌈n / this⌉` splits (at most those planned for the cache), each a workgroup per key/value head, and a combine pass
   * merges them. Fewer keys per split mean more workgroups at short contexts. An integer from 1 to
   * {@link MAX_DECODE_KEYS_PER_SPLIT}; default 64.
   */
  readonly decodeAttentionMinKeysPerSplit: number;
  /**
   * Workgroups the one-row attention kernel aims for: the splits planned for a cache are at least this many workgroups
   * over the key/value heads (`⌈target / heads⌉` splits, as the keys allow), so long contexts run that many splits of
   * more than `decodeAttentionMinKeysPerSplit` keys. An integer from 1 to 65535; default 256. Benchmarks compare it at
   * depth (`gpu-bench --attention-workgroups N`).
   */
  readonly decodeAttentionTargetWorkgroups: number;
  /**
   * One-row quantized mat-vec variants (`kernels/matmul/quant-matvec-shader.ts`): for each type named, one-row
   * products (plain and fused) use the specialised kernel with this layout and tuning instead of the routed kernel
   * (Q4_K: `Q4K_MATVEC_TUNING`; Q6_K: `Q6K_MATVEC_TUNING`; Q8_0: the wide kernel). Default `{}` (the routed ones).
   * The Q4_K and Q8_0 `group` layouts with `conversion: 'int8'` round their inputs to 8 bits (the int8 contract).
   */
  readonly quantMatvec: QuantMatvecTunings;
  /**
   * Products of 9 to 32 input rows (a batched decode step over that many sequences) run the multi-row mat-vec as row
   * groups of at most 8 rows (workgroup z; each group re-reads the weights, mostly from L2) instead of the 128-row
   * prefill tile, which computes mostly padding and, on 2048-wide weights, runs too few workgroups to fill a GPU.
   * Default true; false gives the prefill tile (benchmarks' A/B).
   */
  readonly batchMatvec: boolean;
  /**
   * Above 1: products of 2 to 32 input rows (a batched decode step) with a weight whose one-row product runs a
   * quantized kernel that keeps its inputs in registers (Q4_K, Q6_K) run that kernel over row groups of up to this
   * many rows (workgroup z; fewer where its reduction would outgrow 16 KiB of workgroup memory), and every row of
   * the product equals its one-row product bit for bit: a sequence's greedy tokens in decode steps do not depend on
   * the batch. 0 (the default) gives the multi-row mat-vec, which was faster on an H100 (12.3 against 20.1 ms for a
   * 32-sequence step of 1B Q4_K_M with 8-row groups; see BENCHMARKS.md). At most 8.
   */
  readonly batchQuantRows: number;
  /**
   * Products of more than 32 input rows (prefill) with a Q8_0 or Q4_K weight quantize the input rows to int8 blocks of
   * 32 (`kernels/matmul/int8/`) and multiply them with the weight's integer quants: dot products of packed 8-bit values
   * (`dot4I8Packed`), or subgroup matrices where the device has an i8 configuration (the backend then requests Dawn's
   * `chromium-experimental-subgroup-matrix`, which Dawn lists with `allow_unsafe_apis`, the toggle Node's instance then
   * gets). Changes the numbers: each input value is rounded to 8 bits per block, as llama.cpp's CUDA backend does for
   * quantized weights (see the package README for the precision contract). Default true (on an H100 it took pp512 from
   * 0.17–0.28× llama.cpp CUDA to 0.26–0.36×; see BENCHMARKS.md); false keeps f32 activations.
   */
  readonly int8Prefill: boolean;
  /**
   * From this many input rows up to 32 (a batched decode step over that many sequences), products with a Q4_K, Q6_K or
   * Q8_0 weight quantize their input rows to int8 blocks of 32 (with the RMS norm the product fuses) and multiply them
   * with the weight's quants by `dot4I8Packed` (`kernels/matmul/int8/int8-batch-matvec.ts`): the weights are decoded
   * once per row group, the inputs read as a quarter of the bytes. Rounds those inputs to 8 bits, as `int8Prefill` does
   * for prefill. An integer from 0 (off) to 32; 1 takes the one-row products of decode steps too (an extra quantizing
   * dispatch per product). Default 0 (off): a prefill chunk of that many rows would round too, and one-row products
   * keep f32 inputs for prompts of up to 32 tokens (the parity references). 16 is the setting to use for serving many
   * sequences: on an H100 a batched step of 1B Q4_K_M took 5.6 against 6.8 ms at 16 sequences and 8.1 against 12.4 ms
   * at 32, but 6.0 against 4.1 ms at 8, and one-row decode was slower too (see BENCHMARKS.md in `@strata/pipeline`;
   * Q8_0 products joined later and have not run on a GPU).
   */
  readonly int8BatchRows: number;
  /**
   * The tiles of every int8 prefill GEMM on subgroup matrices (`int8-gemm-shader.ts`: subgroups per workgroup, result
   * matrices per subgroup, columns per step, how results are scaled). Absent (the default),
   * `DEFAULT_SUBGROUP_MATRIX_TILING`; benchmarks compare others (`gpu-bench --int8-tiling`, the `--int8` section of the
   * kernels bench). A tiling whose workgroup memory the device lacks falls back to the default tiling, then to the
   * portable kernel.
   */
  readonly int8GemmTiling?: SubgroupMatrixGemmTiling;
  /**
   * The products `int8BatchRows` takes with a Q4_K or Q8_0 weight (a batched decode step of that many sequences or
   * more) run the int8 GEMM of prefill on subgroup matrices (`int8/int8-batch-gemm.ts`) where the device has them,
   * instead of the 8-bit row-group mat-vec (Q4_K) or the f32 one (Q8_0). Default false until it is measured on a GPU
   * (`batch-bench --int8-gemm on|off`; checked against the CPU on lavapipe with the subgroup-matrix builtins emulated).
   */
  readonly int8BatchGemm: boolean;
  /** The tiles of {@link WebGpuTuning.int8BatchGemm}'s GEMM; absent (the default), `BATCH_SUBGROUP_MATRIX_TILING`. */
  readonly int8BatchGemmTiling?: SubgroupMatrixGemmTiling;
}

/** Workgroups the one-row attention kernel aims for by default (a few per GPU core). */
export const DEFAULT_DECODE_TARGET_WORKGROUPS = 256;

/** Most keys one decode attention workgroup holds (its score buffer). */
export const MAX_DECODE_KEYS_PER_SPLIT = 512;

/** The tuning measured best so far (see BENCHMARKS.md). */
export const DEFAULT_WEBGPU_TUNING: WebGpuTuning = Object.freeze({
  decodeAttentionMinKeysPerSplit: 64,
  decodeAttentionTargetWorkgroups: DEFAULT_DECODE_TARGET_WORKGROUPS,
  quantMatvec: Object.freeze({}),
  batchMatvec: true,
  batchQuantRows: 0,
  int8Prefill: true,
  int8BatchRows: 0,
  int8BatchGemm: false,
});

/**
 * The defaults with `overrides` applied; throws `INVALID_ARGUMENT` for a key-split floor or an occupancy target out of
 * range (`batchQuantRows` and `int8BatchRows` included) or an `int8Prefill`, `batchMatvec` or `int8BatchGemm` that is
 * not a boolean, and `INVALID_CONFIG` for a `quantMatvec` entry no kernel can take or a GEMM tiling that cannot build a
 * kernel.
 */
export function resolveTuning(overrides: Partial<WebGpuTuning> = {}): WebGpuTuning {
  const tuning = { ...DEFAULT_WEBGPU_TUNING, ...overrides };
  const ranges = [
    ['decodeAttentionMinKeysPerSplit', 1, MAX_DECODE_KEYS_PER_SPLIT],
    ['decodeAttentionTargetWorkgroups', 1, 65535],
    ['batchQuantRows', 0, MAX_MATVEC_ROWS],
    ['int8BatchRows', 0, MAX_GROUPED_MATVEC_ROWS],
  ] as const;
  for (const [name, least, most] of ranges) {
    const value = tuning[name];
    if (!Number.isInteger(value) || value < least || value > most) {
      throw new StrataError(
        'INVALID_ARGUMENT',
        `tuning.${name} must be an integer from ${least} to ${most}, got ${value}.`,
        {
          details: { [name]: value },
        },
      );
    }
  }
  for (const flag of ['int8Prefill', 'batchMatvec', 'int8BatchGemm'] as const) {
    if (typeof tuning[flag] !== 'boolean') {
      throw new StrataError('INVALID_ARGUMENT', `tuning.${flag} must be true or false, got ${String(tuning[flag])}.`, {
        details: { [flag]: String(tuning[flag]) },
      });
    }
  }
  for (const name of ['int8GemmTiling', 'int8BatchGemmTiling'] as const) {
    const tiling = tuning[name];
    const tilingProblem = tiling === undefined ? undefined : subgroupMatrixTilingProblem(tiling);
    if (tilingProblem !== undefined) {
      throw new StrataError('INVALID_CONFIG', `Bad tuning.${name}: ${tilingProblem}.`, {
        details: { tiling: { ...tiling } },
      });
    }
  }
  for (const [type, quantTuning] of Object.entries(tuning.quantMatvec)) {
    const problem = quantTuningProblem(type, quantTuning);
    if (problem !== undefined) {
      throw new StrataError('INVALID_CONFIG', `Bad tuning.quantMatvec.${type}: ${problem}.`, {
        details: { type, tuning: { ...quantTuning } },
      });
    }
  }
  return Object.freeze({
    ...tuning,
    quantMatvec: Object.freeze({ ...tuning.quantMatvec }),
    ...(tuning.int8GemmTiling === undefined ? {} : { int8GemmTiling: Object.freeze({ ...tuning.int8GemmTiling }) }),
    ...(tuning.int8BatchGemmTiling === undefined
      ? {}
      : { int8BatchGemmTiling: Object.freeze({ ...tuning.int8BatchGemmTiling }) }),
  });
}
