import type { ActivationKind, Backend, WeightType } from '@strata/core';
import { it } from 'vitest';
import { type ConformanceContext, compareWithReference, randomFor, uploadWeight, weightBytesFor } from '../harness.js';
import { conformanceColumns } from '../weights.js';

/** Weight types of the fused cases: the float types and the quantized types of common model files. */
const FUSED_TYPES: readonly WeightType[] = ['F32', 'F16', 'Q8_0', 'Q4_K', 'Q6_K'];

/** Rows of the concatenated Q | K | V weight and of each half of the gate/up weight. */
const [QUERY, KEY_VALUE, HALF] = [13, 8, 11];

/** The fused projection ops (norm prologue, split / gated / residual epilogues) on 1 row (decode) and 5 rows. */
export function registerFusedCases(context: ConformanceContext): void {
  for (const type of FUSED_TYPES) {
    const columns = conformanceColumns(type);
    const random = randomFor(`fused:${type}`);
    const oneRow = random.floats(columns, -2, 2);
    const fiveRows = random.floats(5 * columns, -2, 2);
    const gain = new Uint8Array(random.floats(columns, 0.8, 1.2).buffer);
    const bias = new Uint8Array(random.floats(QUERY + 2 * KEY_VALUE).buffer);
    const residualOne = random.floats(QUERY + 2 * KEY_VALUE);
    const residualFive = random.floats(5 * (QUERY + 2 * KEY_VALUE));
    const concatenated = weightBytesFor('fused-qkv', type, QUERY + 2 * KEY_VALUE, columns);
    const second = weightBytesFor('fused-second', type, KEY_VALUE, columns);
    const gateUp = weightBytesFor('fused-gate-up', type, 2 * HALF, columns);
    const out = QUERY + 2 * KEY_VALUE;
    const upload = async (backend: Backend) => ({
      concatenated: await uploadWeight(backend, type, [out, columns], concatenated),
      second: await uploadWeight(backend, type, [KEY_VALUE, columns], second),
      gateUp: await uploadWeight(backend, type, [2 * HALF, columns], gateUp),
      gain: await uploadWeight(backend, 'F32', [columns], gain, 'conformance.gain'),
      bias: await uploadWeight(backend, 'F32', [out], bias, 'conformance.bias'),
    });

    // Few kernel variants per type (lavapipe compiles each slowly): 5 rows with a bias reuse the matmul cases' kernels.
    it(`rmsNormMatmul with ${type} weights: Q | K | V parts with a bias, a second projection, 1 and 5 rows`, async () => {
      await compareWithReference(context, 'rmsNormMatmul', type, async (backend) => {
        const weights = await upload(backend);
        const norm = { weight: weights.gain, epsilon: 1e-5 };
        const queryKeyValue = {
          weight: weights.concatenated,
          bias: weights.bias,
          widths: [QUERY, KEY_VALUE, KEY_VALUE],
        };
        return [
          ...backend.rmsNormMatmul(backend.upload(oneRow, [1, columns]), norm, [
            queryKeyValue,
            { weight: weights.second },
          ]),
          ...backend.rmsNormMatmul(backend.upload(fiveRows, [5, columns]), norm, [queryKeyValue]),
        ];
      });
    });

    // SwiGLU for every type; GeGLU (Gemma) with a norm without weight and without any norm on the float types.
    const geglu = type === 'F32' || type === 'F16';
    it(`rmsNormGatedMatmul with ${type} gate/up weights: silu${geglu ? ' and gelu-tanh' : ''}`, async () => {
      await compareWithReference(context, 'rmsNormGatedMatmul', type, async (backend) => {
        const weights = await upload(backend);
        const input = backend.upload(oneRow, [1, columns]);
        const outputs = [
          backend.rmsNormGatedMatmul(input, { weight: weights.gain, epsilon: 1e-5 }, weights.gateUp, 'silu'),
        ];
        if (geglu) {
          const kind: ActivationKind = 'gelu-tanh';
          outputs.push(backend.rmsNormGatedMatmul(input, { weight: undefined, epsilon: 1e-6 }, weights.gateUp, kind));
          outputs.push(backend.rmsNormGatedMatmul(input, undefined, weights.gateUp, kind));
        }
        return outputs;
      });
    });

    it(`matmulAdd with ${type} weights and a bias: 1 and 5 rows`, async () => {
      await compareWithReference(context, 'matmulAdd', type, async (backend) => {
        const weights = await upload(backend);
        return [
          backend.matmulAdd(
            backend.upload(oneRow, [1, columns]),
            weights.concatenated,
            backend.upload(residualOne, [1, out]),
            weights.bias,
          ),
          backend.matmulAdd(
            backend.upload(fiveRows, [5, columns]),
            weights.concatenated,
            backend.upload(residualFive, [5, out]),
            weights.bias,
          ),
        ];
      });
    });
  }
}
