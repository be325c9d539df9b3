import { StrataError, type Tensor } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from '../cpu-backend.js';

// The fused projection ops of the reference are its plain ops composed: the same numbers bit for bit, whatever the
// leading dimensions, and SHAPE_MISMATCH for widths, gate/up weights or residuals that do not fit.
const backend = createCpuBackend();

function values(count: number, seed: number): Float32Array {
  return Float32Array.from({ length: count }, (_, index) => Math.sin(seed * 7.3 + index * 1.7) * 1.5);
}

async function weight(rows: number, columns: number, seed: number) {
  const shape = rows === 0 ? [columns] : [rows, columns];
  const data = values(rows === 0 ? columns : rows * columns, seed);
  return backend.uploadWeight({ name: `w${seed}`, type: 'F32', shape }, new Uint8Array(data.buffer));
}

const read = async (tensors: readonly Tensor[]) => Promise.all(tensors.map((tensor) => backend.read(tensor)));

function code(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return StrataError.isInstance(error) ? error.code : String(error);
  }
  return 'no error';
}

describe('CPU fused projections', () => {
  it('equal rmsNorm → matmul → splitColumns, gatedActivation and add, for [rows, columns] and [batch, rows, columns]', async () => {
    const [columns, out] = [12, 10];
    const matrix = await weight(out, columns, 1);
    const bias = await weight(0, out, 2);
    const gain = await weight(0, columns, 3);
    for (const shape of [
      [3, columns],
      [2, 3, columns],
    ]) {
      const count = shape.reduce((product, size) => product * size, 1);
      const input = backend.upload(values(count, 4), shape);
      const leading = shape.slice(0, -1);
      const normed = backend.rmsNorm(input, gain, 1e-5);
      const product = backend.reshape(backend.matmul(normed, matrix, bias), [count / columns, out]);
      const parts = backend
        .splitColumns(product, [4, 6])
        .map((part, index) => backend.reshape(part, [...leading, index === 0 ? 4 : 6]));
      const fused = backend.rmsNormMatmul(input, { weight: gain, epsilon: 1e-5 }, [
        { weight: matrix, bias, widths: [4, 6] },
      ]);
      expect(fused.map((part) => part.shape)).toEqual(parts.map((part) => part.shape));
      expect(await read(fused)).toEqual(await read(parts));

      const [gate, up] = backend.splitColumns(
        backend.reshape(backend.matmul(input, matrix), [count / columns, out]),
        [5, 5],
      );
      const gated = backend.reshape(backend.gatedActivation(gate!, up!, 'gelu-erf'), [...leading, 5]);
      expect(await read([backend.rmsNormGatedMatmul(input, undefined, matrix, 'gelu-erf')])).toEqual(
        await read([gated]),
      );

      const residual = backend.upload(values((count / columns) * out, 5), [...leading, out]);
      const sum = backend.add(residual, backend.matmul(input, matrix, bias));
      expect(await read([backend.matmulAdd(input, matrix, residual, bias)])).toEqual(await read([sum]));
    }
  });

  it('rejects widths that miss the rows, gate/up weights of odd rows and residuals of another shape', async () => {
    const odd = await weight(5, 4, 6);
    const input = backend.upload(values(4, 7), [1, 4]);
    expect(code(() => backend.rmsNormMatmul(input, undefined, [{ weight: odd, widths: [2, 2] }]))).toBe(
      'SHAPE_MISMATCH',
    );
    expect(code(() => backend.rmsNormMatmul(input, undefined, [{ weight: odd, widths: [4] }]))).toBe('SHAPE_MISMATCH');
    expect(code(() => backend.rmsNormGatedMatmul(input, undefined, odd, 'silu'))).toBe('SHAPE_MISMATCH');
    expect(code(() => backend.matmulAdd(input, odd, backend.zeros([1, 4])))).toBe('SHAPE_MISMATCH');
  });
});
