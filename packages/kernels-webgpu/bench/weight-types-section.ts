// The mat-vec benchmark's default section: every weight type checked against the CPU, a tuning sweep, the mat-vec
// table per type and shape, and several input rows.
import { WEIGHT_TYPES, type WeightType } from '@strata/core';
import { DEFAULT_MATVEC_TUNING, type MatvecTuning } from '../src/kernels/matmul/matvec-shader.js';
import { DEFAULT_WIDE_TUNING } from '../src/kernels/matmul/wide-matvec-shader.js';
import { gbps, log, overBudget, QUICK, seconds, SHAPES, warmUp } from './bench-settings.js';
import { type Bench, type Tuning, tuningName } from './matvec-harness.js';

/**
 * Checks every weight type's mat-vec against the CPU (1 and 3 rows), then times a tuning sweep, every type at the
 * default one-row tuning and 1 to 8 input rows.
 */
export async function weightTypesSection(bench: Bench): Promise<void> {
  log(
    '\n## Correctness on this GPU (mat-vec vs CPU dequantize + float64, 100 × 4096, 1 and 3 rows; worst error / Σ|x·w|)',
  );
  const checkTunings: MatvecTuning[] = [
    DEFAULT_MATVEC_TUNING,
    { workgroupSize: 256, threadsPerRow: 16, unroll: 1 },
    { workgroupSize: 256, threadsPerRow: 64, unroll: 4 },
  ];
  const failures: string[] = [];
  for (const type of WEIGHT_TYPES) {
    const errors: string[] = [];
    for (const tuning of checkTunings) {
      for (const rows of 'rowsPerWorkgroup' in tuning ? [1] : [1, 3]) {
        const error = await bench.check(type, 100, QUICK ? 512 : 4096, rows, tuning);
        errors.push(error.toExponential(1));
        if (!(error < 1e-5)) failures.push(`${type} ${tuningName(tuning)} rows=${rows}: ${error}`);
      }
    }
    log(`- ${type}: ${errors.join(' ')}`);
  }
  log(failures.length === 0 ? 'all correct (< 1e-5)' : `FAILURES: ${failures.join('; ')}`);

  // SM clocks drop while the GPU idles (during the CPU-side checks above): keep it busy for a few seconds first.
  await warmUp(4000, () => bench.matvec('F16', 14336, 4096, 1, DEFAULT_WIDE_TUNING));

  log('\n## Tuning sweep (GB/s of weights, 1 input row; after a 4 s warm-up)');
  const sweepTypes: WeightType[] = ['Q4_K', 'Q8_0', 'F16', 'Q6_K', 'Q4_0', 'Q5_K'];
  const tunings: Tuning[] = [{ workgroupSize: 256, threadsPerRow: 32, unroll: 2 }];
  for (const rowsPerWorkgroup of [4, 8, 16]) {
    for (const unitsPerThread of [1, 2]) tunings.push({ workgroupSize: 256, rowsPerWorkgroup, unitsPerThread });
  }
  tunings.push({ workgroupSize: 128, rowsPerWorkgroup: 8, unitsPerThread: 2 });
  tunings.push({ workgroupSize: 512, rowsPerWorkgroup: 8, unitsPerThread: 1 });
  const sweepShapes: [number, number][] = QUICK
    ? [[512, 2048]]
    : [
        [14336, 4096],
        [4096, 14336],
      ];
  log(`| type | shape | ${tunings.map(tuningName).join(' | ')} |`);
  log(`|---|---|${tunings.map(() => '---:').join('|')}|`);
  for (const type of sweepTypes) {
    for (const [out, columns] of sweepShapes) {
      if (overBudget()) break;
      const cells: string[] = [];
      for (const tuning of tunings) {
        const { bytes, timing } = await bench.matvec(type, out, columns, 1, tuning);
        cells.push(gbps(bytes, timing));
      }
      log(`| ${type} | ${out}×${columns} | ${cells.join(' | ')} |`);
    }
  }

  log(
    `\n## Mat-vec, every weight type (1 input row, ${tuningName(DEFAULT_WIDE_TUNING)}): GB/s of weights read (µs per call)`,
  );
  log(`| type | ${SHAPES.map(([out, columns]) => `${out}×${columns}`).join(' | ')} |`);
  log(`|---|${SHAPES.map(() => '---:').join('|')}|`);
  for (const type of WEIGHT_TYPES) {
    if (overBudget()) {
      log('(time budget reached)');
      break;
    }
    const cells: string[] = [];
    for (const [out, columns] of SHAPES) {
      const { bytes, timing } = await bench.matvec(type, out, columns, 1, DEFAULT_WIDE_TUNING);
      cells.push(`${gbps(bytes, timing)} (${(seconds(timing) * 1e6).toFixed(1)})`);
    }
    log(`| ${type} | ${cells.join(' | ')} |`);
  }

  log(
    '\n## Several input rows (14336×4096; 1 row: wide kernel, more: per-row-group kernel): GB/s of weights (µs per call)',
  );
  log('| type | 1 | 2 | 4 | 8 |');
  log('|---|---:|---:|---:|---:|');
  for (const type of ['Q4_K', 'Q8_0', 'F16'] as const) {
    if (overBudget()) break;
    const cells: string[] = [];
    for (const rows of [1, 2, 4, 8]) {
      const [out, columns] = QUICK ? [512, 2048] : [14336, 4096];
      const { bytes, timing } = await bench.matvec(
        type,
        out,
        columns,
        rows,
        rows === 1 ? DEFAULT_WIDE_TUNING : DEFAULT_MATVEC_TUNING,
      );
      cells.push(`${gbps(bytes, timing)} (${(seconds(timing) * 1e6).toFixed(1)})`);
    }
    log(`| ${type} | ${cells.join(' | ')} |`);
  }
}
