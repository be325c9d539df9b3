import { StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { ropeParameters } from './rope.js';

// Reference values: computed in Python (float64) with the formulas of transformers' modeling_rope_utils.py
// (`_compute_default/linear/llama3/yarn/longrope_parameters`), independently of this implementation.

function expectClose(actual: Float32Array, expected: Record<number, number>): void {
  for (const [index, value] of Object.entries(expected)) {
    const got = actual[Number(index)] as number;
    expect(Math.abs(got - value) / Math.abs(value), `index ${index}: ${got} vs ${value}`).toBeLessThan(2e-6);
  }
}

describe('ropeParameters', () => {
  it('computes the default table base^(-2i/d)', () => {
    const parameters = ropeParameters({ headDimensions: 16, base: 10000, pairing: 'half-split' });
    expect(parameters.inverseFrequencies.length).toBe(8);
    expect(parameters.attentionFactor).toBe(1);
    expectClose(parameters.inverseFrequencies, { 0: 1, 1: 0.31622776601683794, 4: 0.01, 7: 0.00031622776601683794 });
  });

  it('divides every frequency for linear scaling', () => {
    const parameters = ropeParameters(
      { headDimensions: 16, base: 10000, pairing: 'adjacent' },
      { kind: 'linear', factor: 4 },
    );
    expectClose(parameters.inverseFrequencies, { 0: 0.25, 1: 0.07905694150420949, 7: 7.905694150420948e-5 });
    expect(parameters.pairing).toBe('adjacent');
  });

  it('keeps partial rotary dimensions and their own exponent', () => {
    const parameters = ropeParameters({ headDimensions: 16, rotaryDimensions: 8, base: 10000, pairing: 'half-split' });
    expect(parameters.rotaryDimensions).toBe(8);
    expect(parameters.headDimensions).toBe(16);
    expectClose(parameters.inverseFrequencies, { 0: 1, 1: 0.1, 2: 0.01, 3: 0.001 });
  });

  it('matches the Llama-3 smooth scaling (high kept, low divided, ramp between)', () => {
    const parameters = ropeParameters(
      { headDimensions: 128, base: 500000, pairing: 'half-split' },
      { kind: 'llama3', factor: 8, lowFrequencyFactor: 1, highFrequencyFactor: 4, originalContextLength: 8192 },
    );
    expectClose(parameters.inverseFrequencies, {
      0: 1,
      10: 0.12868737343265052,
      20: 0.016560440080994446,
      22: 0.010989528534539826,
      25: 0.005940730375674967,
      28: 0.0032114459947525913,
      30: 0.0013718935677611381,
      40: 3.428102195952591e-5,
      63: 3.068925988914511e-7,
    });
  });

  it('matches YaRN frequencies and its attention factor 0.1 ln(s) + 1', () => {
    const parameters = ropeParameters(
      { headDimensions: 64, base: 10000, pairing: 'half-split' },
      { kind: 'yarn', factor: 4, originalContextLength: 4096 },
    );
    expectClose(parameters.inverseFrequencies, {
      0: 1,
      5: 0.23713737056616555,
      8: 0.1,
      10: 0.056234132519034905,
      12: 0.02797399468610489,
      14: 0.013679072384914791,
      16: 0.006538461538461538,
      20: 0.0013378867023789293,
      31: 3.33380358040831e-5,
    });
    expect(parameters.attentionFactor).toBeCloseTo(1.138629436111989, 12);
  });

  it('matches YaRN with mscale / mscale_all_dim', () => {
    const parameters = ropeParameters(
      { headDimensions: 64, base: 10000, pairing: 'half-split' },
      { kind: 'yarn', factor: 40, originalContextLength: 4096, mscale: 1, mscaleAllDimensions: 0.75 },
    );
    expectClose(parameters.inverseFrequencies, {
      12: 0.026879360111431223,
      16: 0.0055,
      20: 0.0007905694150420945,
      31: 3.33380358040831e-6,
    });
    expect(parameters.attentionFactor).toBeCloseTo(1.0722365828731393, 12);
  });

  it('picks LongRoPE short or long factors by context length', () => {
    const scaling = {
      kind: 'longrope',
      shortFactors: [1, 1.1, 1.2, 1.3],
      longFactors: [1.5, 2, 3, 4],
      originalContextLength: 4096,
      extendedContextLength: 131072,
    } as const;
    const settings = { headDimensions: 8, base: 10000, pairing: 'half-split' } as const;
    const short = ropeParameters(settings, scaling);
    expectClose(short.inverseFrequencies, {
      0: 1,
      1: 0.09090909090909091,
      2: 0.008333333333333333,
      3: 0.0007692307692307692,
    });
    const long = ropeParameters(settings, scaling, { contextLength: 8192 });
    expectClose(long.inverseFrequencies, { 0: 0.6666666666666666, 1: 0.05, 2: 0.0033333333333333335, 3: 0.00025 });
    expect(long.attentionFactor).toBeCloseTo(1.1902380714238083, 12);
    expect(short.attentionFactor).toBeCloseTo(1.1902380714238083, 12);
  });

  it('divides by explicit frequency factors (GGUF rope_freqs)', () => {
    const parameters = ropeParameters(
      { headDimensions: 8, base: 10000, pairing: 'adjacent' },
      { kind: 'frequency-factors', factors: [1, 2, 4, 8] },
    );
    expectClose(parameters.inverseFrequencies, { 0: 1, 1: 0.05, 2: 0.0025, 3: 0.000125 });
  });

  it('rejects odd or oversized rotary dimensions and bad factors with INVALID_CONFIG', () => {
    const invalid = (run: () => unknown) => {
      try {
        run();
      } catch (error) {
        expect(StrataError.isInstance(error, 'INVALID_CONFIG')).toBe(true);
        return;
      }
      throw new Error('expected INVALID_CONFIG');
    };
    invalid(() => ropeParameters({ headDimensions: 16, rotaryDimensions: 7, base: 10000, pairing: 'adjacent' }));
    invalid(() => ropeParameters({ headDimensions: 16, rotaryDimensions: 18, base: 10000, pairing: 'adjacent' }));
    invalid(() =>
      ropeParameters({ headDimensions: 16, base: 10000, pairing: 'adjacent' }, { kind: 'linear', factor: 0 }),
    );
    invalid(() =>
      ropeParameters(
        { headDimensions: 8, base: 10000, pairing: 'adjacent' },
        { kind: 'longrope', shortFactors: [1], longFactors: [1], originalContextLength: 10, extendedContextLength: 20 },
      ),
    );
  });
});
