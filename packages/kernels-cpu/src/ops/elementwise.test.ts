import { describe, expect, it } from 'vitest';
import { erf } from './elementwise.js';

describe('erf', () => {
  it('matches reference values in the series, continued-fraction and saturated ranges', () => {
    const cases: [number, number][] = [
      [0, 0],
      [0.5, 0.5204998778130465],
      [-1, -0.8427007929497149],
      [2, 0.9953222650189527],
      [2.999, 0.9999777698314002],
      [3, 0.9999779095030014],
      [3.5, 0.9999992569016276],
      [-4, -0.9999999845827421],
      [5.5, 0.9999999999999927],
      [7, 1],
    ];
    for (const [x, expected] of cases) expect(Math.abs(erf(x) - expected), `erf(${x})`).toBeLessThan(1e-9);
  });
});
