// The mat-vec benchmark's batched-decode section (`--batch`): the product of a decode step over 16–64 sequences.
import { DEFAULT_MATVEC_TUNING, matvecGroupRows } from '../src/kernels/matmul/matvec-shader.js';
import {
  BATCH_TILES_16,
  BATCH_TILES_32,
  DEFAULT_TILES,
  SMALL_TILES,
  type TiledTuning,
} from '../src/kernels/matmul/tiled-shader.js';
import { DECODE_STEP_SHAPES, log, overBudget, QUICK, seconds } from './bench-settings.js';
import type { Bench } from './matvec-harness.js';

/** The tilings compared, by name. */
const TILINGS: readonly [string, TiledTuning][] = [
  ['default 128×64', DEFAULT_TILES],
  ['64×64', SMALL_TILES],
  ['batch 32×128', BATCH_TILES_32],
  ['batch 16×256', BATCH_TILES_16],
];

/**
 * `--batch`: µs per product of `rows` input rows with `[out, columns]` weights for every tiling of {@link TILINGS}, and
 * for the mat-vec over row groups of at most 8 rows (`tuning.batchMatvec`'s route up to 32 rows: one dispatch, the
 * groups in workgroup z, each re-reading the weights).
 */
export async function batchSection(bench: Bench): Promise<void> {
  const shapes: readonly [number, number][] = QUICK
    ? [
        [256, 512],
        [512, 256],
      ]
    : [...DECODE_STEP_SHAPES, [128256, 2048]];
  log('\n## Batched decode products: µs per call (rows × out × columns)');
  log(`| type | out×columns | rows | ${TILINGS.map(([name]) => name).join(' | ')} | mat-vec row groups |`);
  log(`|---|---|---:|${TILINGS.map(() => '---:').join('|')}|---:|`);
  for (const type of ['Q4_K', 'Q8_0', 'F16'] as const) {
    for (const [out, columns] of shapes) {
      if (overBudget()) return;
      for (const rows of [16, 32, 64]) {
        const cells: string[] = [];
        for (const [, tuning] of TILINGS) {
          cells.push((seconds(await bench.tiled(type, out, columns, rows, tuning)) * 1e6).toFixed(1));
        }
        const group = matvecGroupRows(Math.min(rows, 32));
        const { timing } = await bench.matvec(type, out, columns, group, DEFAULT_MATVEC_TUNING, rows);
        const matvec = (seconds(timing) * 1e6).toFixed(1);
        log(`| ${type} | ${out}×${columns} | ${rows} | ${cells.join(' | ')} | ${matvec} |`);
      }
    }
  }
}
