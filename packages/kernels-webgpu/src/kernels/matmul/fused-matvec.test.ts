import { type Backend, StrataError, type Tensor, type WeightTensor } from '@strata/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { backendForTests } from '../../testing/backend-for-tests.js';
import type { WebGpuBackend } from '../../webgpu-backend.js';
import type { GpuWeight } from '../../weights/gpu-weight.js';
import { randomValues } from './testing/weight-fixtures.js';

// The fused projection ops against the unfused ops on the same device: the epilogues (parts, gate·up, residual) must
// give the unfused numbers bit for bit (the same per-row sums, stored elsewhere); the fused norm sums the mean square
// in another order and scales each row's total instead of each input, so those compare within f32 rounding. One input
// row takes one dispatch per weight; weights split into chunks, more rows and a device without subgroups take the
// other paths. F32 weights only: the conformance suite covers the weight types, and lavapipe compiles each kernel
// variant slowly.

let chunked: WebGpuBackend | undefined;
let plain: WebGpuBackend | undefined;
let reason = 'Dawn found no WebGPU adapter';
beforeAll(async () => {
  const withChunks = await backendForTests({ maxChunkBytes: 1024 });
  const withoutSubgroups = await backendForTests({ disableFeatures: ['subgroups'] });
  if (typeof withChunks === 'string') reason = withChunks;
  else chunked = withChunks;
  if (typeof withoutSubgroups !== 'string') plain = withoutSubgroups;
});
afterAll(() => {
  chunked?.destroy();
  plain?.destroy();
});

const [COLUMNS, QUERY, KEY_VALUE, HALF] = [64, 12, 4, 9];

async function floatWeight(backend: Backend, shape: number[], seed: number): Promise<WeightTensor> {
  const count = shape.reduce((product, size) => product * size, 1);
  return backend.uploadWeight(
    { name: `w${seed}`, type: 'F32', shape },
    new Uint8Array(randomValues(count, seed).buffer),
  );
}

async function read(backend: Backend, tensors: readonly Tensor[]): Promise<Float32Array[]> {
  const values: Float32Array[] = [];
  for (const tensor of tensors) values.push((await backend.read(tensor)) as Float32Array);
  return values;
}

function expectNear(actual: Float32Array, expected: Float32Array, what: string): void {
  expect(actual.length, what).toBe(expected.length);
  for (let index = 0; index < expected.length; index++) {
    const error = Math.abs(actual[index]! - expected[index]!);
    if (!(error <= 1e-5 + 1e-5 * Math.abs(expected[index]!))) {
      expect.fail(`${what}: element ${index} is ${actual[index]}, unfused ${expected[index]}`);
    }
  }
}

/** Runs `fused` and `unfused` on `backend`, counting the fused op's dispatches. */
async function compare(
  backend: WebGpuBackend,
  fused: () => Tensor[],
  unfused: () => Tensor[],
): Promise<{ fused: Float32Array[]; unfused: Float32Array[]; dispatches: number }> {
  const spy = vi.spyOn(backend.runtime, 'dispatch');
  const outputs = fused();
  const dispatches = spy.mock.calls.length;
  spy.mockRestore();
  return { fused: await read(backend, outputs), unfused: await read(backend, unfused()), dispatches };
}

describe('WebGPU fused projections', () => {
  it('rmsNormMatmul: Q | K | V parts of one weight in one dispatch, with chunks, more rows and no subgroups', async (context) => {
    if (chunked === undefined || plain === undefined) return context.skip(reason);
    for (const backend of [chunked, plain]) {
      const out = QUERY + 2 * KEY_VALUE;
      const weight = await floatWeight(backend, [out, COLUMNS], 1);
      const bias = await floatWeight(backend, [out], 2);
      const gain = await floatWeight(backend, [COLUMNS], 3);
      const widths = [QUERY, KEY_VALUE, KEY_VALUE];
      const chunks = (weight as GpuWeight).chunks.length;
      if (backend === chunked) expect(chunks).toBeGreaterThan(1);
      // 3 and 12 rows: the multi-row mat-vec with the norm, storing the parts (one row group; two groups of 6).
      for (const rows of backend === chunked ? [1, 3, 12] : [1, 3]) {
        const input = backend.upload(randomValues(rows * COLUMNS, 4 + rows), [rows, COLUMNS]);
        const normed = () => backend.rmsNorm(input, gain, 1e-5);
        const split = (tensor: Tensor) => backend.splitColumns(tensor, widths);
        // No norm: the stored parts are the product's columns exactly.
        const parts = await compare(
          backend,
          () => backend.rmsNormMatmul(input, undefined, [{ weight, bias, widths }]),
          () => split(backend.matmul(input, weight, bias)),
        );
        expect(parts.fused, `parts, ${rows} rows`).toEqual(parts.unfused);
        // One dispatch per chunk, no column copies.
        expect(parts.dispatches, `${rows} rows`).toBe(chunks);
        const withNorm = await compare(
          backend,
          () => backend.rmsNormMatmul(input, { weight: gain, epsilon: 1e-5 }, [{ weight, bias, widths }]),
          () => split(backend.matmul(normed(), weight, bias)),
        );
        withNorm.fused.forEach((values, index) => {
          expectNear(values, withNorm.unfused[index]!, `norm part ${index}`);
        });
        // The norm in the same pass, one row or several.
        expect(withNorm.dispatches, `${rows} rows`).toBe(chunks);
      }
    }
  });

  it('rmsNormMatmul: the norm over a row longer than one pass of the workgroup (the last pass part-empty)', async (context) => {
    if (plain === undefined) return context.skip(reason);
    // 1100 F32 columns are 275 units of 4: a workgroup of 256 takes two column blocks, the second with 19 live units
    // (the same kernel variant as the 64-column case, so nothing new to compile).
    const columns = 1100;
    const out = QUERY + 2 * KEY_VALUE;
    const weight = await floatWeight(plain, [out, columns], 17);
    const bias = await floatWeight(plain, [out], 18);
    const gain = await floatWeight(plain, [columns], 19);
    const widths = [QUERY, KEY_VALUE, KEY_VALUE];
    const input = plain.upload(randomValues(columns, 20), [1, columns]);
    const result = await compare(
      plain,
      () => plain!.rmsNormMatmul(input, { weight: gain, epsilon: 1e-5 }, [{ weight, bias, widths }]),
      () => plain!.splitColumns(plain!.matmul(plain!.rmsNorm(input, gain, 1e-5), weight, bias), widths),
    );
    expect(result.dispatches).toBe(1);
    result.fused.forEach((values, index) => {
      expectNear(values, result.unfused[index]!, `long row, part ${index}`);
    });
  });

  it('rmsNormGatedMatmul: gate and up rows of one workgroup, SwiGLU and GeGLU, 1 to 12 rows; chunks unfused', async (context) => {
    if (chunked === undefined || plain === undefined) return context.skip(reason);
    for (const backend of [chunked, plain]) {
      // One chunk for the fused path on the chunked backend too: 2 · 9 rows of 64 floats do not fit 1024 bytes.
      const weight = await floatWeight(backend, [2 * HALF, backend === chunked ? 2 : COLUMNS], 5);
      const columns = weight.shape[1]!;
      // 3 and 12 rows: the multi-row mat-vec's gated store (one row group; two of 6).
      for (const rows of backend === chunked ? [1, 3, 12] : [1, 3]) {
        const input = backend.upload(randomValues(rows * columns, 6 + rows), [rows, columns]);
        // Both activations on one row and 3 rows; lavapipe compiles each variant slowly, so 12 rows take SwiGLU only.
        for (const kind of rows === 12 ? (['silu'] as const) : (['silu', 'gelu-tanh'] as const)) {
          const result = await compare(
            backend,
            () => [backend.rmsNormGatedMatmul(input, undefined, weight, kind)],
            () => {
              const [gate, up] = backend.splitColumns(backend.matmul(input, weight), [HALF, HALF]) as [Tensor, Tensor];
              return [backend.gatedActivation(gate, up, kind)];
            },
          );
          expect(result.fused, `${kind}, ${rows} rows`).toEqual(result.unfused);
          expect(result.dispatches, `${kind}, ${rows} rows`).toBe(1);
        }
        // With the norm in the same pass (several rows; one row is covered by the chunked case below).
        if (rows === 1) continue;
        const gain = await floatWeight(backend, [columns], 21);
        const normed = await compare(
          backend,
          () => [backend.rmsNormGatedMatmul(input, { weight: gain, epsilon: 1e-5 }, weight, 'silu')],
          () => {
            const product = backend.matmul(backend.rmsNorm(input, gain, 1e-5), weight);
            const [gate, up] = backend.splitColumns(product, [HALF, HALF]) as [Tensor, Tensor];
            return [backend.gatedActivation(gate, up, 'silu')];
          },
        );
        expectNear(normed.fused[0]!, normed.unfused[0]!, `normed gate/up, ${rows} rows`);
        expect(normed.dispatches, `normed, ${rows} rows`).toBe(1);
      }
    }
    // A gate/up weight in several chunks runs unfused (the up row of a gate row may live in another chunk).
    const weight = await floatWeight(chunked, [2 * HALF, COLUMNS], 7);
    const input = chunked.upload(randomValues(COLUMNS, 8), [1, COLUMNS]);
    const result = await compare(
      chunked,
      () => [chunked!.rmsNormGatedMatmul(input, { weight: undefined, epsilon: 1e-6 }, weight, 'silu')],
      () => {
        const normed = chunked!.rmsNorm(input, undefined, 1e-6);
        const [gate, up] = chunked!.splitColumns(chunked!.matmul(normed, weight), [HALF, HALF]) as [Tensor, Tensor];
        return [chunked!.gatedActivation(gate, up, 'silu')];
      },
    );
    expectNear(result.fused[0]!, result.unfused[0]!, 'chunked gate/up');
  });

  it('matmulAdd: the residual added in the store, per chunk, up to 32 rows (row groups); more rows through add', async (context) => {
    if (chunked === undefined) return context.skip(reason);
    const backend = chunked;
    const out = 2 * HALF;
    const weight = await floatWeight(backend, [out, COLUMNS], 9);
    const bias = await floatWeight(backend, [out], 10);
    for (const rows of [1, 3, 12, 40]) {
      const input = backend.upload(randomValues(rows * COLUMNS, 11 + rows), [rows, COLUMNS]);
      const residual = backend.upload(randomValues(rows * out, 13 + rows), [rows, out]);
      const result = await compare(
        backend,
        () => [backend.matmulAdd(input, weight, residual, bias)],
        () => [backend.add(residual, backend.matmul(input, weight, bias))],
      );
      expect(result.fused, `${rows} rows`).toEqual(result.unfused);
      // One dispatch per chunk up to 32 rows; 40 rows take the tiled product and an add.
      if (rows <= 32) expect(result.dispatches, `${rows} rows`).toBe((weight as GpuWeight).chunks.length);
    }
  });

  it('rejects gate/up weights of odd rows, widths that miss the rows and residuals of another shape', async (context) => {
    if (chunked === undefined) return context.skip(reason);
    const backend = chunked;
    const code = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        return StrataError.isInstance(error) ? error.code : String(error);
      }
      return 'no error';
    };
    const odd = await floatWeight(backend, [5, 8], 15);
    const input = backend.upload(randomValues(8, 16), [1, 8]);
    expect(code(() => backend.rmsNormGatedMatmul(input, undefined, odd, 'silu'))).toBe('SHAPE_MISMATCH');
    expect(code(() => backend.rmsNormMatmul(input, undefined, [{ weight: odd, widths: [2, 2] }]))).toBe(
      'SHAPE_MISMATCH',
    );
    expect(code(() => backend.matmulAdd(input, odd, backend.zeros([1, 4])))).toBe('SHAPE_MISMATCH');
  });
});
