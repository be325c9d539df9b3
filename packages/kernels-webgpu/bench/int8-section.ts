// The mat-vec benchmark's int8 prefill section (`--int8`): quantize + int8 GEMM (tuning.int8Prefill's path) beside
// the f32 tiled kernel, for 512 input rows on the 1B and 8B shapes, Q8_0 and Q4_K, each int8 variant the device has.
import {
  BATCH_SUBGROUP_MATRIX_TILING,
  DEFAULT_PACKED_TILING,
  DEFAULT_SUBGROUP_MATRIX_TILING,
  type Int8GemmVariant,
  type SubgroupMatrixGemmTiling,
} from '../src/kernels/matmul/int8/int8-gemm-shader.js';
import type { Int8WeightType } from '../src/kernels/matmul/int8/int8-weight-blocks.js';
import { DECODE_STEP_SHAPES, log, overBudget, QUICK, seconds, warmUp } from './bench-settings.js';
import { checkInt8, deviceMatrix, timeInt8, variantFits } from './int8-harness.js';
import type { Bench } from './matvec-harness.js';

/** The int8 variants this device can run, by name: the portable kernel, and subgroup matrices where available. */
function variants(bench: Bench, type: Int8WeightType): [string, Int8GemmVariant][] {
  const list: [string, Int8GemmVariant][] = [
    ['int8 dot4I8Packed', { type, bias: false, inner: { kind: 'packed', tiling: DEFAULT_PACKED_TILING } }],
  ];
  const matrix = deviceMatrix(bench);
  if (matrix !== undefined) {
    // INT8_DEFAULT_ONLY=1: the default tiling alone (a shorter run).
    // INT8_ROWS ≤ 32: the tilings of a batched decode step's rows instead.
    const small = ROWS <= 32;
    const candidates =
      process.env.INT8_DEFAULT_ONLY === '1' ? [] : small ? BATCH_STEP_CANDIDATES : SUBGROUP_MATRIX_CANDIDATES;
    const routed = small ? BATCH_SUBGROUP_MATRIX_TILING : DEFAULT_SUBGROUP_MATRIX_TILING;
    for (const tiling of [routed, ...candidates]) {
      const variant: Int8GemmVariant = { type, bias: false, inner: { kind: 'subgroup-matrix', matrix, tiling } };
      const shape = `sg${tiling.subgroupRows}×${tiling.subgroupCols} m${tiling.matrixRows}×${tiling.matrixCols}`;
      const result = `${tiling.resultLayout ?? 'row'}${tiling.resultStride ?? ''} ${tiling.conversion ?? 'integer'} ${tiling.multiply ?? 'together'}`;
      const scaling = `${tiling.scaling ?? 'pair'}${tiling.resultsPerBarrier === undefined ? '' : `×${tiling.resultsPerBarrier}`}`;
      const step = `k${32 * (tiling.stepBlocks ?? 2)} ${scaling} ${result}`;
      const name = `subgroup-matrix ${matrix.M}×${matrix.N}×${matrix.K} ${shape} ${step}`;
      if (variantFits(bench, variant)) list.push([tiling === routed ? `${name} (default)` : name, variant]);
    }
  }
  return list;
}

/**
 * `base` with its block results stored, converted and multiplied other ways (`SubgroupMatrixGemmTiling`'s
 * `resultLayout`, `resultStride`, `conversion`, `multiply`, `resultsPerBarrier`).
 */
function resultVariants(base: SubgroupMatrixGemmTiling): SubgroupMatrixGemmTiling[] {
  return [
    { ...base, conversion: 'mantissa' },
    { ...base, resultStride: 20 },
    { ...base, resultLayout: 'column', conversion: 'mantissa' },
    { ...base, multiply: 'each' },
    { ...base, multiply: 'each', conversion: 'mantissa' },
    { ...base, multiply: 'each', resultLayout: 'column', conversion: 'mantissa' },
    { ...base, stepBlocks: 1, resultsPerBarrier: 2 },
    { ...base, stepBlocks: 1, resultsPerBarrier: 2, multiply: 'each', conversion: 'mantissa' },
  ];
}

/** Tilings timed beside the default one: its block results stored, converted and multiplied other ways. */
const SUBGROUP_MATRIX_CANDIDATES: readonly SubgroupMatrixGemmTiling[] = resultVariants(DEFAULT_SUBGROUP_MATRIX_TILING);

/**
 * Tilings for the 16–32 rows of a batched decode step (`INT8_ROWS=32`): the routed one with its results stored and
 * converted other ways, and one or two 16-row result matrices per subgroup along the rows, 64 or 128 outputs per
 * workgroup.
 */
const BATCH_STEP_CANDIDATES: readonly SubgroupMatrixGemmTiling[] = [
  ...resultVariants(BATCH_SUBGROUP_MATRIX_TILING),
  { subgroupRows: 1, subgroupCols: 4, matrixRows: 2, matrixCols: 2, scaling: 'block' },
  { subgroupRows: 2, subgroupCols: 4, matrixRows: 1, matrixCols: 1, scaling: 'block' },
  { subgroupRows: 1, subgroupCols: 8, matrixRows: 2, matrixCols: 1, scaling: 'block' },
];

/** Input rows of the timed products (`INT8_ROWS`, default 512; 64 with `--quick`). */
const ROWS = Number(process.env.INT8_ROWS ?? (QUICK ? 64 : 512));

/**
 * `--int8`: first each variant checked against the CPU computation of the int8 contract (worst error over its
 * f32-rounding tolerance; `FAILURES:` when any is above 1), then TFLOP/s (2 · rows · out · columns per second, ms per
 * call in parentheses) of the f32 tiled kernel and of each int8 variant, quantization included, on each shape.
 */
export async function int8Section(bench: Bench): Promise<void> {
  const rows = ROWS;
  const shapes: readonly [number, number][] = QUICK
    ? [
        [256, 1024],
        [512, 512],
      ]
    : ROWS <= 32
      ? DECODE_STEP_SHAPES
      : [
          [2048, 2048],
          [8192, 2048],
          [4096, 4096],
          [14336, 4096],
          [4096, 14336],
        ];
  const matrix = deviceMatrix(bench);
  log(
    `\n## Int8 prefill (tuning.int8Prefill): subgroup matrices ${matrix === undefined ? 'unavailable' : JSON.stringify(matrix)}`,
  );
  const check = QUICK ? { rows: 70, out: 37, columns: 96 } : { rows: 200, out: 300, columns: 1056 };
  const failures: string[] = [];
  for (const type of ['Q8_0', 'Q4_K'] as const) {
    const columns = type === 'Q4_K' ? Math.ceil(check.columns / 256) * 256 : check.columns;
    for (const [name, variant] of variants(bench, type)) {
      try {
        const worst = await checkInt8(bench, variant, { ...check, columns });
        log(
          `- check ${type} ${name}, ${check.rows}×${check.out}×${columns}: worst error / tolerance ${worst.toFixed(3)}`,
        );
        if (!(worst <= 1)) failures.push(`${type} ${name}`);
      } catch (error) {
        log(`- check ${type} ${name}: FAILED ${String(error)}`);
        failures.push(`${type} ${name}`);
      }
    }
  }
  if (failures.length > 0) log(`FAILURES: ${failures.join(', ')}`);

  // The clocks ramp up from idle over seconds: without a warm-up the first rows (Q8_0) ran 2–3× slower in some calls
  // than in others, while the later Q4_K rows held. Keep the GPU busy first, as the mat-vec sections do.
  await warmUp(4000, () => bench.tiled('Q8_0', shapes[0]![0], shapes[0]![1], rows));
  log(`\n### ${rows} input rows, after a ${QUICK ? 0.2 : 4} s warm-up: TFLOP/s (ms per call), int8 = quantize + GEMM`);
  const names = variants(bench, 'Q8_0').map(([name]) => name);
  log(`| type | out×columns | f32 tiled | ${names.join(' | ')} |`);
  log(`|---|---|---:|${names.map(() => '---:').join('|')}|`);
  // Seconds per variant over every shape of both types (subgroup-matrix variants that passed their check).
  const totals = new Map<string, { tiling: SubgroupMatrixGemmTiling; seconds: number; shapes: number }>();
  const cell = (out: number, columns: number, time: number) =>
    `${((2 * rows * out * columns) / time / 1e12).toFixed(2)} (${(time * 1e3).toFixed(3)})`;
  for (const type of ['Q8_0', 'Q4_K'] as const) {
    for (const [out, columns] of shapes) {
      if (overBudget()) return;
      const cells = [cell(out, columns, seconds(await bench.tiled(type, out, columns, rows)))];
      for (const [name, variant] of variants(bench, type)) {
        try {
          const time = seconds(await timeInt8(bench, variant, { rows, out, columns }));
          cells.push(cell(out, columns, time));
          if (variant.inner.kind === 'subgroup-matrix' && !failures.includes(`${type} ${name}`)) {
            const total = totals.get(name) ?? { tiling: variant.inner.tiling, seconds: 0, shapes: 0 };
            totals.set(name, { ...total, seconds: total.seconds + time, shapes: total.shapes + 1 });
          }
        } catch (error) {
          log(`  ${type} ${out}×${columns} ${name}: FAILED ${String(error)}`);
          cells.push('FAILED');
        }
      }
      log(`| ${type} | ${out}×${columns} | ${cells.join(' | ')} |`);
    }
  }
  const complete = [...totals.entries()].filter(([, total]) => total.shapes === 2 * shapes.length);
  complete.sort(([, left], [, right]) => left.seconds - right.seconds);
  if (complete.length === 0) return;
  log('\nSubgroup-matrix tilings by total time over every shape above (ms):');
  for (const [name, total] of complete) log(`- ${name}: ${(total.seconds * 1e3).toFixed(3)}`);
  // For device scripts: the fastest tiling as WebGpuTuning.int8GemmTiling JSON (gpu-bench --int8-tiling).
  log(`BEST_INT8_TILING ${JSON.stringify(complete[0]![1].tiling)}`);
}
