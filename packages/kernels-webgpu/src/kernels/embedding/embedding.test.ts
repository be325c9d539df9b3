import { WEIGHT_TYPES } from '@strata/core';
import { dequantize } from '@strata/kernels-cpu';
import { openGgufFile } from '@strata/loaders/node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendForTests } from '../../testing/backend-for-tests.js';
import type { WebGpuBackend } from '../../webgpu-backend.js';
import { quantBaseFile } from '../matmul/testing/weight-fixtures.js';

// The embedding gather for every weight type: rows of the quant-base token table (split into many chunks), scaled,
// against the CPU dequantization; ids outside the vocabulary give zero rows.

let backend: WebGpuBackend | undefined;
beforeAll(async () => {
  const created = await backendForTests({ maxChunkBytes: 4096 });
  if (typeof created !== 'string') backend = created;
});
afterAll(() => backend?.destroy());

describe('WebGPU embedding, every weight type', () => {
  for (const type of WEIGHT_TYPES) {
    it(`${type}: gathers and scales rows across chunks`, async (context) => {
      if (backend === undefined) return context.skip('Dawn found no WebGPU adapter');
      const file = await openGgufFile(quantBaseFile(type));
      const name = 'token_embd.weight';
      const [vocabulary, width] = file.tensors.get(name).shape as [number, number];
      const bytes = await file.tensors.readBytes(name);
      const table = await backend.uploadWeight({ name, type, shape: [vocabulary, width] }, bytes);
      const values = dequantize(type, bytes, vocabulary * width);
      const tokens = [5, 0, vocabulary - 1, 300, -1, vocabulary + 3];
      const ids = backend.upload(new Int32Array(tokens), [tokens.length]);
      const scale = 1.5;
      const output = backend.embedding(table, ids, scale);
      expect(output.shape).toEqual([tokens.length, width]);
      const actual = (await backend.read(output)) as Float32Array;
      tokens.forEach((token, row) => {
        for (let column = 0; column < width; column++) {
          const expected = token >= 0 && token < vocabulary ? values[token * width + column]! * scale : 0;
          const got = actual[row * width + column]!;
          if (Math.abs(got - expected) > 1e-6 * Math.abs(expected) + 1e-7) {
            expect.fail(`${type} token ${token} column ${column}: ${got}, expected ${expected}`);
          }
        }
      });
      backend.dispose(table);
    });
  }
});
