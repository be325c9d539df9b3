// Dequantization parity with gguf-py (numpy) on the quant-base model files of the shared fixtures.
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { isWeightType, WEIGHT_TYPES } from '@strata/core';
import { openGgufFile } from '@strata/loaders/node';
import { describe, expect, it } from 'vitest';
import { dequantize } from './dequantize.js';

const folder = fileURLToPath(new URL('../../../../../shared/fixtures/models/quant-base/', import.meta.url));

interface DequantCheck {
  readonly name: string;
  readonly ggml_type: string;
  readonly shape: readonly number[];
  readonly n: number;
  readonly first16: readonly number[];
  readonly sum: number;
  readonly sum_abs: number;
  readonly sum_sq: number;
}

// One fixture per weight type (the F32 one is named in lower case), plus llama.cpp's Q4_K_M mix of types.
const FILES = [...WEIGHT_TYPES.map((type) => (type === 'F32' ? 'f32' : type)), 'Q4_K_M'];

describe('dequantization matches gguf-py on the quant-base fixtures', () => {
  it.each(FILES)('%s', async (file) => {
    const checks = JSON.parse(readFileSync(`${folder}dequant-check-${file}.json`, 'utf8')) as DequantCheck[];
    const gguf = await openGgufFile(`${folder}model-${file}.gguf`);
    expect(checks.length).toBe(5);
    for (const check of checks) {
      const entry = gguf.tensors.get(check.name);
      expect(entry.type).toBe(check.ggml_type);
      // The fixture lists gguf-py dims (ne0 first); the loader gives row-major shapes.
      expect(entry.shape).toEqual([...check.shape].reverse());
      const type = entry.type!;
      if (!isWeightType(type)) throw new Error(`${check.name} has type ${type}`);
      const values = dequantize(type, await gguf.tensors.readBytes(check.name), check.n);
      let sum = 0;
      let sumAbs = 0;
      let sumSq = 0;
      for (const value of values) {
        sum += value;
        sumAbs += Math.abs(value);
        sumSq += value * value;
      }
      const where = `${file} ${check.name} (${type})`;
      check.first16.forEach((expected, index) => {
        expect(Math.abs(values[index]! - expected), `${where} element ${index}`).toBeLessThanOrEqual(
          1e-6 + 1e-5 * Math.abs(expected),
        );
      });
      expect(Math.abs(sum - check.sum), `${where} sum`).toBeLessThanOrEqual(1e-5 * check.sum_abs);
      expect(Math.abs(sumAbs - check.sum_abs) / check.sum_abs, `${where} sum_abs`).toBeLessThanOrEqual(1e-5);
      expect(Math.abs(sumSq - check.sum_sq) / check.sum_sq, `${where} sum_sq`).toBeLessThanOrEqual(1e-5);
    }
  });
});
