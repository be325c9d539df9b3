// The mat-vec benchmark's `--quant` section: the Q4_K/Q6_K/Q8_0 one-row kernel variants checked, then timed.
import { DEFAULT_WIDE_TUNING } from '../src/kernels/matmul/wide-matvec-shader.js';
import { gbps, log, overBudget, QUICK, seconds, SHAPES, warmUp } from './bench-settings.js';
import type { Bench } from './matvec-harness.js';
import { QUANT_VARIANTS, type QuantType, quantVariantName } from './quant-variants.js';

const QUANT_TYPES: readonly QuantType[] = ['Q4_K', 'Q6_K', 'Q8_0'];

/**
 * Every variant of `quant-variants.ts` checked against the CPU (`all correct` or `FAILURES`), then timed beside the
 * wide kernel (first and last), one table per type.
 */
export async function quantSection(bench: Bench): Promise<void> {
  log('\n## Quantized one-row kernels: correctness (100 rows; worst error / Σ|x·w|; * = routed)');
  const failures: string[] = [];
  for (const type of QUANT_TYPES) {
    for (const tuning of QUANT_VARIANTS[type]) {
      const errors: string[] = [];
      for (const columns of QUICK ? [512, 1536] : [4096, 14336, 512, 1536]) {
        const error = await bench.check(type, 100, columns, 1, tuning);
        errors.push(`${columns}: ${error.toExponential(1)}`);
        // Inputs rounded to 8 bits (the int8 conversion) are llama.cpp's contract, not exact: about 1e-3 of Σ|x·w|.
        const bound = tuning.conversion === 'int8' ? 1e-2 : 1e-5;
        if (!(error < bound)) failures.push(`${type} ${columns} ${quantVariantName(type, tuning)}: ${error}`);
      }
      log(`- ${type} ${quantVariantName(type, tuning)}: ${errors.join(', ')}`);
    }
  }
  log(failures.length === 0 ? 'all correct (< 1e-5; int8 inputs < 1e-2)' : `FAILURES: ${failures.join('; ')}`);
  await warmUp(8000, () => bench.matvec('F16', 14336, 4096, 1, DEFAULT_WIDE_TUNING));
  log('\n## Quantized one-row kernels: GB/s of weights (µs per call), wide kernel first and last; * = routed');
  log('Names: layout, rows per workgroup, workgroup size, conversion when not the default (quant-variants.ts).');
  for (const type of QUANT_TYPES) {
    const variants = QUANT_VARIANTS[type];
    const names = ['wide (first)', ...variants.map((tuning) => quantVariantName(type, tuning)), 'wide (last)'];
    log(`\n### ${type}`);
    log(`| shape | ${names.join(' | ')} |`);
    log(`|---|${names.map(() => '---:').join('|')}|`);
    for (const [out, columns] of SHAPES) {
      if (overBudget()) {
        log('(time budget reached)');
        break;
      }
      const cells: string[] = [];
      for (const tuning of [DEFAULT_WIDE_TUNING, ...variants, DEFAULT_WIDE_TUNING]) {
        const { bytes, timing } = await bench.matvec(type, out, columns, 1, tuning);
        cells.push(`${gbps(bytes, timing)} (${(seconds(timing) * 1e6).toFixed(1)})`);
      }
      log(`| ${out}×${columns} | ${cells.join(' | ')} |`);
    }
  }
}
