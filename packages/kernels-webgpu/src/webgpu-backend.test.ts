import { describe, expect, it } from 'vitest';
import { useBackendForTests } from './testing/backend-for-tests.js';

const gpu = useBackendForTests();

describe('WebGpuBackend memory and element-wise ops', () => {
  it('uploads, adds with row broadcast, and reads back in one submission', async (context) => {
    const b = gpu(context);
    const a = b.upload(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3]);
    const row = b.upload(new Float32Array([10, 20, 30]), [3]);
    const sum = b.add(a, row);
    const product = b.mul(sum, sum);
    expect(Array.from(await b.read(sum))).toEqual([11, 22, 33, 14, 25, 36]);
    expect(Array.from(await b.read(product))).toEqual([121, 484, 1089, 196, 625, 1296]);
  });

  it('RMS-normalises rows with an f16 weight converted at upload', async (context) => {
    const b = gpu(context);
    const input = b.upload(new Float32Array([3, 4, 0, 0, 1, 1, 1, 1]), [2, 4]);
    const half = new Uint16Array([0x3c00, 0x4000, 0x3c00, 0x3c00]); // 1, 2, 1, 1
    const weight = await b.uploadWeight({ name: 'w', type: 'F16', shape: [4] }, new Uint8Array(half.buffer));
    const out = (await b.read(b.rmsNorm(input, weight, 0))) as Float32Array;
    const scale = 1 / Math.sqrt(25 / 4);
    const expected = [3 * scale, 8 * scale, 0, 0, 1, 2, 1, 1];
    for (const [index, value] of out.entries()) expect(value).toBeCloseTo(expected[index]!, 5);
  });
});
