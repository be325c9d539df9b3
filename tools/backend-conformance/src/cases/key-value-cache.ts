import type { Backend, Tensor } from '@strata/core';
import { floatToHalf, halfToFloat } from '@strata/kernels-cpu';
import { expect, it } from 'vitest';
import { type ConformanceContext, compareWithReference, randomFor } from '../harness.js';

const BLOCK = 32;

/** The f16 scale of a q8_0 block of largest magnitude `amax` (`KeyValueCache.precision` in core). */
function blockScale(amax: number): number {
  return halfToFloat(floatToHalf(Math.fround(amax * Math.fround(1 / 127))));
}

/**
 * A row of five q8_0 blocks at the edges of the format: zeros; scale 1 with exact ties (halves go away from zero) and
 * values one ulp either side of them; an f16 scale that is not a power of two with exact ties; a block whose scale is
 * an f16 subnormal (quants clamped to ±127); a block whose scale rounds to 0 (all zeros). Five blocks make an odd row,
 * so the last pair of blocks holds one block and a padded scale word.
 */
function boundaryRow(): { row: Float32Array; ties: readonly number[] } {
  const random = randomFor('q8_0 boundaries');
  const row = new Float32Array(5 * BLOCK);
  const ties = [0.5, 1.5, 2.5, -0.5, -1.5, -2.5, 63.5, -63.5, 126.5, -126.5];
  const unitBlock = [127, -3, ...ties, 0.5 - 2 ** -25, -(0.5 - 2 ** -25), 1.5 + 2 ** -23, 2.5 - 2 ** -22];
  unitBlock.forEach((value, index) => {
    row[BLOCK + index] = value;
  });
  const filler = random.floats(BLOCK - unitBlock.length, -100, 100).map(Math.round);
  row.set(filler, BLOCK + unitBlock.length);
  const scale = blockScale(100);
  row[2 * BLOCK] = -100;
  // Ties (k + 1/2) · d for k in −126 … 126, all below the block's largest magnitude 100.
  for (let index = 1; index < BLOCK; index++) row[2 * BLOCK + index] = (((index * 37) % 253) - 126 + 0.5) * scale;
  const tiny = random.floats(BLOCK).map((value) => value * 3e-3);
  row.set(tiny, 3 * BLOCK);
  const vanishing = random.floats(BLOCK).map((value) => value * 1e-6);
  row.set(vanishing, 4 * BLOCK);
  return { row, ties };
}

/** The q8_0 cache's quantization, bit for bit, at the format's edges; slicing cache rows gives what a read gives. */
export function registerKeyValueCacheCases(context: ConformanceContext): void {
  it('writeKeyValues: a q8_0 cache quantizes ties, tiny and vanishing blocks exactly as the reference', async () => {
    const { row, ties } = boundaryRow();
    const width = row.length;
    const second = randomFor('q8_0 second row').floats(width);
    const keys = new Float32Array([...row, ...second]);
    const values = keys.map((value) => -value);
    const run = (backend: Backend): Tensor[] => {
      const cache = backend.createKeyValueCache(3, width, 'q8_0');
      backend.writeKeyValues(cache, backend.upload(keys, [2, width]), backend.upload(values, [2, width]), 1);
      return [cache.keys, cache.values, backend.sliceRows(cache.keys, 1, 2)];
    };
    const ops = ['writeKeyValues', 'writeKeyValues', 'writeKeyValues'] as const;
    const [stored] = await compareWithReference(context, ops, 'q8_0 boundaries', run);
    // Independent of both backends: the scale-1 block holds round-half-away-from-zero of its values.
    const unit = stored!.subarray(width + BLOCK, width + 2 * BLOCK);
    ties.forEach((value, index) => {
      expect(unit[2 + index]).toBe(Math.sign(value) * Math.floor(Math.abs(value) + 0.5));
    });
    expect(Array.from(unit.subarray(2 + ties.length, 6 + ties.length))).toEqual([0, 0, 2, 2]);
    expect(Array.from(stored!.subarray(width, width + BLOCK)).every((value) => value === 0)).toBe(true);
    expect(Array.from(stored!.subarray(width + 4 * BLOCK, 2 * width)).every((value) => value === 0)).toBe(true);
  });

  it('sliceRows: the rows of an f16 cache come as the f32 values a read gives', async () => {
    const width = 6;
    const input = randomFor('f16 cache rows').floats(3 * width);
    const run = (backend: Backend): Tensor[] => {
      const cache = backend.createKeyValueCache(4, width, 'f16');
      backend.writeKeyValues(cache, backend.upload(input, [3, width]), backend.upload(input, [3, width]), 2);
      return [cache.keys, backend.sliceRows(cache.keys, 0, 3)];
    };
    const [all, rows] = await compareWithReference(context, ['writeKeyValues', 'writeKeyValues'], 'f16 rows', run);
    expect(Array.from(rows!)).toEqual(Array.from(all!.subarray(0, 3 * width)));
  });
}
