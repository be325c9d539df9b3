import { createCpuBackend } from '@strata/kernels-cpu';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendForTests } from '../../testing/backend-for-tests.js';
import { testValues } from '../../testing/test-values.js';
import type { WebGpuBackend } from '../../webgpu-backend.js';

// argmax over rows long enough to be split into slices (a vocabulary of logits), with and without subgroups, against
// the CPU backend: ties inside a slice, across slices (the first slice must win) and in the short last slice.
const backends: (WebGpuBackend | string)[] = [];
beforeAll(async () => {
  backends.push(await backendForTests(), await backendForTests({ disableFeatures: ['subgroups'] }));
});
afterAll(() => {
  for (const backend of backends) if (typeof backend !== 'string') backend.destroy();
});

const [ROWS, COLUMNS] = [4, 9000];

/** Rows whose largest value appears twice: in one slice, in two slices, only in the last slice, and at column 0. */
function logits(): Float32Array {
  const values = testValues(ROWS * COLUMNS, 17, 2);
  const peaks = [
    [100, 1900],
    [3000, 7000],
    [8500, 8999],
    [0, 4097],
  ];
  peaks.forEach((columns, row) => {
    for (const column of columns) values[row * COLUMNS + column] = 50;
  });
  return values;
}

describe('WebGPU argmax over sliced rows', () => {
  for (const [index, label] of ['subgroups', 'no subgroups'].entries()) {
    it(`gives the first index of the largest value (${label})`, async (context) => {
      const backend = backends[index]!;
      if (typeof backend === 'string') return context.skip(backend);
      const values = logits();
      const cpu = createCpuBackend();
      const expected = await cpu.read(cpu.argmax(cpu.upload(values, [ROWS, COLUMNS])));
      expect(Array.from(expected)).toEqual([100, 3000, 8500, 0]);
      const actual = await backend.read(backend.argmax(backend.upload(values, [ROWS, COLUMNS])));
      expect(Array.from(actual)).toEqual(Array.from(expected));
    });
  }
});
