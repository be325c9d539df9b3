import { StrataError, type Tensor, type WeightTensor } from '@strata/core';
import { expect, it } from 'vitest';
import {
  type ConformanceContext,
  compareWithReference,
  expectStrataError,
  randomFor,
  trackedBackend,
  uploadWeight,
} from '../harness.js';

/** Upload, read, views, slices, splits, streaming weights, disposal and the typed errors of the contract. */
export function registerMemoryCases(context: ConformanceContext): void {
  it('round-trips f32 and i32 data exactly and returns host copies', async () => {
    const backend = trackedBackend(context);
    const floats = randomFor('roundtrip').floats(5 * 7, -1e3, 1e3);
    floats[3] = -0;
    floats[4] = Number.POSITIVE_INFINITY;
    const tensor = backend.upload(floats, [5, 7]);
    expect(tensor.dtype).toBe('f32');
    expect(tensor.shape).toEqual([5, 7]);
    const read = await backend.read(tensor);
    expect(Array.from(read)).toEqual(Array.from(floats));
    read[0] = 12345;
    expect((await backend.read(tensor))[0]).toBe(floats[0]);
    const ids = Int32Array.of(0, -1, 2147483647, 42);
    const idTensor = backend.upload(ids, [4]);
    expect(idTensor.dtype).toBe('i32');
    expect(Array.from(await backend.read(idTensor))).toEqual(Array.from(ids));
    expect(Array.from(await backend.read(backend.zeros([3, 5])))).toEqual(new Array(15).fill(0));
  });

  it('reshapes, slices rows and splits columns', async () => {
    const data = randomFor('views').floats(6 * 10);
    await compareWithReference(context, 'memory', 'views', (backend) => {
      const tensor = backend.upload(data, [6, 10]);
      return [
        backend.reshape(tensor, [3, 20]),
        backend.sliceRows(tensor, 2, 3),
        backend.sliceRows(tensor, 5, 1),
        ...backend.splitColumns(tensor, [3, 5, 2]),
        ...backend.splitColumns(
          backend.upload(
            Int32Array.from({ length: 12 }, (_, index) => index),
            [3, 4],
          ),
          [1, 3],
        ),
      ];
    });
    const backend = trackedBackend(context);
    const tensor = backend.upload(data, [6, 10]);
    expect(backend.reshape(tensor, [60]).shape).toEqual([60]);
    expect(backend.sliceRows(tensor, 1, 4).shape).toEqual([4, 10]);
    expect(backend.splitColumns(tensor, [4, 6]).map((part) => part.shape)).toEqual([
      [6, 4],
      [6, 6],
    ]);
  });

  it('uploads a weight streamed in uneven chunks like the whole buffer', async () => {
    const backend = trackedBackend(context);
    const random = randomFor('streamed');
    const bytes = new Uint8Array(random.floats(5 * 8).buffer);
    async function* chunks() {
      yield bytes.subarray(0, 7);
      yield bytes.subarray(7, 100);
      yield bytes.subarray(100);
    }
    const whole = await uploadWeight(backend, 'F32', [5, 8], bytes);
    await expect(uploadWeight(backend, 'F32', [5, 8], bytes.subarray(0, 100))).rejects.toSatisfy((error) =>
      StrataError.isInstance(error),
    );
    const fromChunks = await backend.uploadWeight({ name: 'streamed', type: 'F32', shape: [5, 8] }, chunks());
    const input = backend.upload(random.floats(2 * 8), [2, 8]);
    const wholeResult = await backend.read(backend.matmul(input, whole));
    const chunkedResult = await backend.read(backend.matmul(input, fromChunks));
    expect(Array.from(chunkedResult)).toEqual(Array.from(wholeResult));
  });

  it('raises TENSOR_DISPOSED, BACKEND_MISMATCH and SHAPE_MISMATCH', async () => {
    const backend = trackedBackend(context);
    const random = randomFor('errors');
    const disposed = backend.upload(random.floats(4), [2, 2]);
    backend.dispose(disposed);
    await expectStrataError(backend, 'TENSOR_DISPOSED', () => backend.scale(disposed, 2));
    const weight = await uploadWeight(backend, 'F32', [3, 2], new Uint8Array(random.floats(6).buffer));
    backend.dispose(weight);
    await expectStrataError(backend, 'TENSOR_DISPOSED', () =>
      backend.matmul(backend.upload(random.floats(2), [1, 2]), weight),
    );
    const foreign: Tensor = { backendName: 'elsewhere', dtype: 'f32', shape: [2, 2] };
    await expectStrataError(backend, 'BACKEND_MISMATCH', () => backend.add(foreign, foreign));
    const foreignWeight: WeightTensor = { backendName: 'elsewhere', type: 'F32', shape: [3, 2] };
    await expectStrataError(backend, 'BACKEND_MISMATCH', () =>
      backend.matmul(backend.upload(random.floats(2), [1, 2]), foreignWeight),
    );
    const live = await uploadWeight(backend, 'F32', [3, 2], new Uint8Array(random.floats(6).buffer));
    await expectStrataError(backend, 'SHAPE_MISMATCH', () =>
      backend.matmul(backend.upload(random.floats(3), [1, 3]), live),
    );
    await expectStrataError(backend, 'SHAPE_MISMATCH', () =>
      backend.add(backend.upload(random.floats(6), [2, 3]), backend.upload(random.floats(4), [2, 2])),
    );
    await expectStrataError(backend, 'SHAPE_MISMATCH', () => backend.upload(random.floats(5), [2, 3]));
    await expectStrataError(backend, 'SHAPE_MISMATCH', () =>
      backend.reshape(backend.upload(random.floats(6), [2, 3]), [4]),
    );
  });
}
