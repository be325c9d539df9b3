// The mat-vec benchmark's tiled sections: the prefill mat-mul per tiling (`--tiled`) and per weight type.
import { LARGE_TILES, SMALL_TILES, type TiledTuning } from '../src/kernels/matmul/tiled-shader.js';
import { log, overBudget, QUICK, seconds } from './bench-settings.js';
import type { Bench } from './matvec-harness.js';

/** Tilings `--tiled` compares side by side. */
const TILINGS: TiledTuning[] = [
  SMALL_TILES,
  LARGE_TILES,
  { rows: 64, out: 128, threadRows: 4, threadOut: 8, depth: 16 },
  { rows: 128, out: 64, threadRows: 8, threadOut: 4, depth: 16 },
];

/** `--tiled`: every tiling of {@link TILINGS} on the 1B and 8B shapes, in TFLOP/s. */
export async function tiledSection(bench: Bench): Promise<void> {
  const rows = QUICK ? 64 : 512;
  const shapes = QUICK
    ? [
        [256, 1024],
        [512, 256],
      ]
    : [
        [2048, 2048],
        [8192, 2048],
        [4096, 4096],
        [14336, 4096],
        [4096, 14336],
      ];
  const label = (tuning: TiledTuning) =>
    `${tuning.rows}×${tuning.out} ${tuning.threadRows}×${tuning.threadOut} k${tuning.depth}`;
  log(`\n## Tiled mat-mul tilings, ${rows} input rows: TFLOP/s`);
  log(`| type | out×columns | ${TILINGS.map(label).join(' | ')} |`);
  log(`|---|---|${TILINGS.map(() => '---:').join('|')}|`);
  for (const type of ['Q4_K', 'Q6_K', 'F16'] as const) {
    for (const [out, columns] of shapes) {
      const cells: string[] = [];
      for (const tuning of TILINGS) {
        const timing = await bench.tiled(type, out!, columns!, rows, tuning);
        cells.push(((2 * rows * out! * columns!) / seconds(timing) / 1e12).toFixed(2));
      }
      log(`| ${type} | ${out}×${columns} | ${cells.join(' | ')} |`);
    }
  }
}

/** The prefill mat-mul with the default tiles per weight type, in TFLOP/s (ms per call). */
export async function tiledPrefillSection(bench: Bench): Promise<void> {
  log('\n## Tiled mat-mul (prefill, 512 input rows): TFLOP/s (ms per call)');
  log('| type | 4096×4096 | 14336×4096 |');
  log('|---|---:|---:|');
  for (const type of ['Q4_K', 'Q8_0', 'F16', 'F32'] as const) {
    if (overBudget()) break;
    const cells: string[] = [];
    for (const [out, columns] of QUICK
      ? [
          [256, 1024],
          [512, 1024],
        ]
      : [
          [4096, 4096],
          [14336, 4096],
        ]) {
      const rows = QUICK ? 64 : 512;
      const timing = await bench.tiled(type, out!, columns!, rows);
      cells.push(
        `${((2 * rows * out! * columns!) / seconds(timing) / 1e12).toFixed(2)} (${(seconds(timing) * 1e3).toFixed(2)})`,
      );
    }
    log(`| ${type} | ${cells.join(' | ')} |`);
  }
}
