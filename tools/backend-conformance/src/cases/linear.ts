import { WEIGHT_TYPES, type WeightType } from '@strata/core';
import { it } from 'vitest';
import { type ConformanceContext, compareWithReference, randomFor, uploadWeight, weightBytesFor } from '../harness.js';
import { conformanceColumns } from '../weights.js';

/** embedding, matmul (mat-vec and mat-mul, with biases) and matmulExperts for every weight type. */
export function registerLinearCases(context: ConformanceContext): void {
  for (const type of WEIGHT_TYPES) {
    const columns = conformanceColumns(type);

    it(`embedding of ${type} rows (width ${columns}), with and without scale`, async () => {
      const vocabulary = 11;
      const table = weightBytesFor('embedding', type, vocabulary, columns);
      const ids = Int32Array.of(3, 0, 10, 3, 7);
      await compareWithReference(context, 'embedding', type, async (backend) => {
        const weight = await uploadWeight(backend, type, [vocabulary, columns], table);
        const tokens = backend.upload(ids, [ids.length]);
        return [backend.embedding(weight, tokens), backend.embedding(weight, tokens, 2.5)];
      });
    });

    it(`matmul with ${type} weights: 1 row (mat-vec) and 5 rows with an f32 bias, 19 outputs of ${columns}`, async () => {
      const out = 19;
      const weightBytes = weightBytesFor('matmul', type, out, columns);
      const random = randomFor(`matmul:${type}`);
      const single = random.floats(columns);
      const several = random.floats(5 * columns);
      const bias = new Uint8Array(random.floats(out).buffer);
      await compareWithReference(context, 'matmul', type, async (backend) => {
        const weight = await uploadWeight(backend, type, [out, columns], weightBytes);
        const biasWeight = await uploadWeight(backend, 'F32', [out], bias, 'conformance.bias');
        return [
          backend.matmul(backend.upload(single, [1, columns]), weight),
          backend.matmul(backend.upload(several, [5, columns]), weight, biasWeight),
        ];
      });
    });
  }

  const wideTypes: WeightType[] = ['F16', 'Q8_0', 'Q4_K', 'Q6_K', 'IQ4_XS'];
  for (const type of wideTypes) {
    it(`matmul with ${type} weights over 512 columns, 9 rows, 67 outputs, f16 bias`, async () => {
      const [rows, out, columns] = [9, 67, 512];
      const weightBytes = weightBytesFor('matmul-wide', type, out, columns);
      const random = randomFor(`matmul-wide:${type}`);
      const input = random.floats(rows * columns);
      const bias = weightBytesFor('matmul-wide-bias', 'F16', 1, out);
      await compareWithReference(context, 'matmul', `${type} wide`, async (backend) => {
        const weight = await uploadWeight(backend, type, [out, columns], weightBytes);
        const biasWeight = await uploadWeight(backend, 'F16', [out], bias, 'conformance.bias');
        return [
          backend.matmul(backend.upload(input, [rows, columns]), weight, biasWeight),
          backend.matmul(backend.upload(input.subarray(0, columns), [1, columns]), weight, biasWeight),
        ];
      });
    });
  }

  // Prefill-sized products: more rows than the batched-decode tiles (32), where a backend may take another path
  // (WebGPU: the 128-row tiles, or 8-bit activations with tuning.int8Prefill; tolerance `prefillMatmul`).
  for (const type of ['Q8_0', 'Q4_K'] as const) {
    it(`prefill matmul with ${type} weights: 40 rows over 512 columns, 67 outputs, f32 bias`, async () => {
      const [rows, out, columns] = [40, 67, 512];
      const weightBytes = weightBytesFor('matmul-prefill', type, out, columns);
      const random = randomFor(`matmul-prefill:${type}`);
      const input = random.floats(rows * columns);
      const bias = new Uint8Array(random.floats(out).buffer);
      await compareWithReference(context, 'prefillMatmul', type, async (backend) => {
        const weight = await uploadWeight(backend, type, [out, columns], weightBytes);
        const biasWeight = await uploadWeight(backend, 'F32', [out], bias, 'conformance.bias');
        return backend.matmul(backend.upload(input, [rows, columns]), weight, biasWeight);
      });
    });
  }

  // A batched decode step's product of 20 rows (WebGPU: two row groups of 10; on 8-bit inputs with
  // tuning.int8BatchRows, Q4_K and Q8_0 weights on the int8 GEMM where the device has subgroup matrices; tolerance
  // `batchedMatmul`).
  for (const type of ['Q4_K', 'Q6_K', 'Q8_0'] as const) {
    it(`batched matmul with ${type} weights: 20 rows over 512 columns, 67 outputs`, async () => {
      const [rows, out, columns] = [20, 67, 512];
      const weightBytes = weightBytesFor('matmul-batched', type, out, columns);
      const input = randomFor(`matmul-batched:${type}`).floats(rows * columns);
      await compareWithReference(context, 'batchedMatmul', type, async (backend) => {
        const weight = await uploadWeight(backend, type, [out, columns], weightBytes);
        return backend.matmul(backend.upload(input, [rows, columns]), weight);
      });
    });
  }

  for (const type of WEIGHT_TYPES) {
    const columns = conformanceColumns(type);
    it(`matmulExperts with ${type} experts: shared input and one input per slot`, async () => {
      const [experts, out, rows, topK] = [4, 11, 3, 2];
      const stack = weightBytesFor('experts', type, experts * out, columns);
      const random = randomFor(`experts:${type}`);
      const shared = random.floats(rows * columns);
      const perSlot = random.floats(rows * topK * columns);
      // Row 1 picks the same expert twice; expert 1 is never used.
      const chosen = Int32Array.of(2, 0, 3, 3, 0, 2);
      const single = Int32Array.of(3, 0, 2);
      await compareWithReference(context, 'matmulExperts', type, async (backend) => {
        const weight = await uploadWeight(backend, type, [experts, out, columns], stack);
        const ids = backend.upload(chosen, [rows, topK]);
        return [
          backend.matmulExperts(backend.upload(shared, [rows, columns]), weight, ids),
          backend.matmulExperts(backend.upload(perSlot, [rows * topK, columns]), weight, ids),
          backend.matmulExperts(backend.upload(shared, [rows, columns]), weight, backend.upload(single, [rows, 1])),
        ];
      });
    });
  }
}
