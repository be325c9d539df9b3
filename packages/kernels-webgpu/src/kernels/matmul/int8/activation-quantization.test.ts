import { describe, expect, it } from 'vitest';
import { useBackendForTests } from '../../../testing/backend-for-tests.js';
import { randomValues } from '../testing/weight-fixtures.js';
import {
  ACTIVATION_SCALE_BITS,
  activationBlockScale,
  activationQuant,
  INT8_BLOCK_COLUMNS,
  quantizeActivations,
  SMALLEST_ACTIVATION_SCALE,
} from './activation-quantization.js';
import { quantizeActivationsOnDevice } from './int8-matmul.js';

const SCRATCH = new Float32Array(1);
const BITS = new Uint32Array(SCRATCH.buffer);

/** The f32 next to `value` towards +∞ (`direction` 1) or −∞ (−1). */
function nextFloat(value: number, direction: 1 | -1): number {
  SCRATCH[0] = value;
  if (value === 0) return direction * 2 ** -149;
  BITS[0] = BITS[0]! + (value > 0 === direction > 0 ? 1 : -1);
  return SCRATCH[0]!;
}

/**
 * Rows of blocks that reach every branch of the rounding: exact ties `(q + ½) · d` of both signs and one ulp either
 * side of them, a block whose largest magnitude is negative, zeros, a vanishing block (scale 0), huge and tiny
 * magnitudes, then seeded random values.
 */
function edgeRows(columns: number): Float32Array {
  const rows: number[][] = [];
  // A block whose amax (100) gives a scale d; its other values sit on and around the midpoints of that d.
  const amax = 100;
  const d = activationBlockScale(amax);
  const ties: number[] = [amax];
  for (let q = -3; ties.length < INT8_BLOCK_COLUMNS - 3; q += 7) {
    const tie = Math.fround((q + 0.5) * d);
    ties.push(tie, nextFloat(tie, 1), nextFloat(tie, -1));
  }
  while (ties.length < INT8_BLOCK_COLUMNS) ties.push(-0);
  rows.push(ties);
  rows.push(ties.map((value) => -value));
  rows.push(Array.from({ length: INT8_BLOCK_COLUMNS }, (_, index) => (index === 5 ? -3.75 : index * 0.01)));
  rows.push(new Array<number>(INT8_BLOCK_COLUMNS).fill(0));
  rows.push(Array.from({ length: INT8_BLOCK_COLUMNS }, (_, index) => (index - 16) * 1e-32));
  rows.push(Array.from({ length: INT8_BLOCK_COLUMNS }, (_, index) => Math.fround((index - 7) * 3.1e7)));
  rows.push(Array.from({ length: INT8_BLOCK_COLUMNS }, (_, index) => Math.fround((index - 7) * 2.3e-9)));
  const blocks = rows.flat();
  const perRow = columns / INT8_BLOCK_COLUMNS;
  const rowCount = Math.ceil(rows.length / perRow) + 2;
  const values = randomValues(rowCount * columns, 11).map((value) => value * 6);
  values.set(blocks);
  return values;
}

describe('int8 activation quantization (CPU reference)', () => {
  it('keeps 11 significant bits in each scale and rounds each value to within half a scale', () => {
    const columns = 64;
    const values = edgeRows(columns);
    const rows = values.length / columns;
    const { quants, scales, sums } = quantizeActivations(values, rows, columns);
    for (let block = 0; block < scales.length; block++) {
      const d = scales[block]!;
      SCRATCH[0] = d;
      expect(BITS[0]! & ((1 << (24 - ACTIVATION_SCALE_BITS)) - 1), `scale ${d} has more than 11 bits`).toBe(0);
      expect(d === 0 || d >= SMALLEST_ACTIVATION_SCALE).toBe(true);
      let sum = 0;
      for (let index = block * 32; index < block * 32 + 32; index++) {
        const q = quants[index]!;
        sum += q;
        if (d === 0) expect(q).toBe(0);
        else expect(Math.abs(values[index]! - q * d)).toBeLessThanOrEqual(d / 2);
      }
      expect(sums[block]).toBe(sum);
    }
  });

  it('rounds exact ties away from zero and one ulp off a tie to the nearer integer', () => {
    const d = activationBlockScale(100);
    for (const q of [-4, -1, 0, 3, 126]) {
      const tie = Math.fround((q + 0.5) * d);
      expect(tie).toBe((q + 0.5) * d);
      expect(activationQuant(tie, d)).toBe(tie > 0 ? q + 1 : q);
      expect(activationQuant(nextFloat(tie, 1), d)).toBe(q + 1);
      expect(activationQuant(nextFloat(tie, -1), d)).toBe(q);
    }
    expect(activationQuant(100, d)).toBe(127);
    expect(activationQuant(-100, d)).toBe(-127);
    expect(activationBlockScale(1e-31)).toBe(0);
  });

  it('rejects columns that do not fill whole blocks (SHAPE_MISMATCH)', () => {
    expect(() => quantizeActivations(new Float32Array(40), 1, 40)).toThrowError(/multiple of 32/);
    expect(() => quantizeActivations(new Float32Array(60), 2, 32)).toThrowError(/Expected 2 × 32/);
  });
});

describe('int8 activation quantization (WebGPU)', () => {
  const gpu = useBackendForTests();

  it('gives the CPU reference quants, scales and sums bit for bit', async (context) => {
    const backend = gpu(context);
    const columns = 96;
    const values = edgeRows(columns);
    const rows = values.length / columns;
    const expected = quantizeActivations(values, rows, columns);
    const input = backend.upload(values, [rows, columns]);
    const device = quantizeActivationsOnDevice(backend.runtime, backend.runtime.tensor(input), rows, columns, true);
    const quants = (await backend.read(device.quants)) as Int32Array;
    const scales = (await backend.read(device.scales)) as Float32Array;
    const sums = (await backend.read(device.sums!)) as Int32Array;
    expect(new Int8Array(quants.buffer, quants.byteOffset, rows * columns)).toEqual(expected.quants);
    expect(new Uint32Array(scales.buffer, scales.byteOffset, scales.length)).toEqual(
      new Uint32Array(expected.scales.buffer),
    );
    expect(sums).toEqual(expected.sums);
    for (const tensor of [input, device.quants, device.scales, device.sums!]) backend.dispose(tensor);
  });
});
