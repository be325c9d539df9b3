import type { ActivationKind } from '@strata/core';
import { it } from 'vitest';
import { type ConformanceContext, compareWithReference, randomFor, uploadWeight, weightBytesFor } from '../harness.js';

const ACTIVATIONS: readonly ActivationKind[] = ['silu', 'gelu-tanh', 'gelu-erf', 'relu'];

/** Element-wise ops, activations, softcap, norms and softmax on odd shapes. */
export function registerPointwiseCases(context: ConformanceContext): void {
  const [rows, columns] = [5, 37];

  it('add and mul: same shape, [columns] and [1, columns] broadcasts; scale', async () => {
    const random = randomFor('binary');
    const leftValues = random.floats(rows * columns, -3, 3);
    const rightValues = random.floats(rows * columns, -3, 3);
    const row = random.floats(columns, -3, 3);
    for (const op of ['add', 'mul'] as const) {
      await compareWithReference(context, op, 'shapes', (backend) => {
        const left = backend.upload(leftValues, [rows, columns]);
        return [
          backend[op](left, backend.upload(rightValues, [rows, columns])),
          backend[op](left, backend.upload(row, [columns])),
          backend[op](left, backend.upload(row, [1, columns])),
        ];
      });
    }
    await compareWithReference(context, 'scale', 'factor', (backend) => [
      backend.scale(backend.upload(leftValues, [rows, columns]), -0.37),
      backend.scale(backend.upload(leftValues, [rows * columns]), 16),
    ]);
  });

  for (const kind of ACTIVATIONS) {
    it(`activation and gatedActivation: ${kind}`, async () => {
      const random = randomFor(`activation:${kind}`);
      const gate = random.floats(rows * columns, -8, 8);
      const up = random.floats(rows * columns, -2, 2);
      await compareWithReference(context, 'activation', kind, (backend) =>
        backend.activation(backend.upload(gate, [rows, columns]), kind),
      );
      await compareWithReference(context, 'gatedActivation', kind, (backend) =>
        backend.gatedActivation(backend.upload(gate, [rows, columns]), backend.upload(up, [rows, columns]), kind),
      );
    });
  }

  it('softcap', async () => {
    const values = randomFor('softcap').floats(rows * columns, -100, 100);
    await compareWithReference(context, 'softcap', 'caps 30 and 2.5', (backend) => [
      backend.softcap(backend.upload(values, [rows, columns]), 30),
      backend.softcap(backend.upload(values, [rows, columns]), 2.5),
    ]);
  });

  it('rmsNorm and layerNorm with f32 and f16 weights, bias, and without either', async () => {
    const width = 70;
    const random = randomFor('norms');
    const input = random.floats(rows * width, -2, 4);
    const gain = new Uint8Array(random.floats(width, 0.5, 1.5).buffer);
    const bias = new Uint8Array(random.floats(width).buffer);
    const halfGain = weightBytesFor('norms', 'F16', 1, width);
    await compareWithReference(context, 'rmsNorm', 'weights', async (backend) => {
      const uploaded = backend.upload(input, [rows, width]);
      const weight = await uploadWeight(backend, 'F32', [width], gain);
      const halfWeight = await uploadWeight(backend, 'F16', [width], halfGain);
      return [
        backend.rmsNorm(uploaded, weight, 1e-6),
        backend.rmsNorm(uploaded, halfWeight, 1e-5),
        backend.rmsNorm(uploaded, undefined, 1e-6),
      ];
    });
    await compareWithReference(context, 'layerNorm', 'weights', async (backend) => {
      const uploaded = backend.upload(input, [rows, width]);
      const weight = await uploadWeight(backend, 'F32', [width], gain);
      const offset = await uploadWeight(backend, 'F32', [width], bias);
      return [
        backend.layerNorm(uploaded, weight, offset, 1e-5),
        backend.layerNorm(uploaded, weight, undefined, 1e-5),
        backend.layerNorm(uploaded, undefined, undefined, 1e-6),
      ];
    });
  });

  it('softmax, including rows with large and equal values', async () => {
    const random = randomFor('softmax');
    const values = random.floats(rows * columns, -20, 20);
    const wide = random.floats(300, -5, 5);
    for (let column = 0; column < columns; column++) {
      values[columns + column] = values[columns + column]! + 5000;
      values[2 * columns + column] = 3;
    }
    await compareWithReference(context, 'softmax', 'rows', (backend) => [
      backend.softmax(backend.upload(values, [rows, columns])),
      backend.softmax(backend.upload(wide, [300])),
    ]);
  });
}
