import { StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { MAX_MATVEC_ROWS, matvecGroupRows } from '../kernels/matmul/matvec-shader.js';
import { createWebGpuBackend } from '../webgpu-backend.js';
import { DEFAULT_WEBGPU_TUNING, MAX_DECODE_KEYS_PER_SPLIT, resolveTuning, type WebGpuTuning } from './tuning.js';

function errorCode(run: () => unknown): string {
  try {
    run();
  } catch (error) {
    return StrataError.isInstance(error) ? error.code : String(error);
  }
  return 'no error';
}

/** Each of `values` as the integer tuning `name` throws `INVALID_ARGUMENT`. */
function expectRejected(
  name: 'decodeAttentionMinKeysPerSplit' | 'decodeAttentionTargetWorkgroups' | 'batchQuantRows' | 'int8BatchRows',
  values: readonly number[],
): void {
  for (const value of values) {
    expect(
      errorCode(() => resolveTuning({ [name]: value })),
      `${name} ${value}`,
    ).toBe('INVALID_ARGUMENT');
  }
}

describe('WebGPU kernel tuning', () => {
  it('fills the defaults and takes overrides in range', () => {
    expect(resolveTuning()).toEqual(DEFAULT_WEBGPU_TUNING);
    expect(resolveTuning({}).decodeAttentionMinKeysPerSplit).toBe(DEFAULT_WEBGPU_TUNING.decodeAttentionMinKeysPerSplit);
    expect(resolveTuning({ decodeAttentionMinKeysPerSplit: 16 }).decodeAttentionMinKeysPerSplit).toBe(16);
    expect(resolveTuning({ decodeAttentionMinKeysPerSplit: 1 }).decodeAttentionMinKeysPerSplit).toBe(1);
    const largest = resolveTuning({ decodeAttentionMinKeysPerSplit: MAX_DECODE_KEYS_PER_SPLIT });
    expect(largest.decodeAttentionMinKeysPerSplit).toBe(MAX_DECODE_KEYS_PER_SPLIT);
  });

  it('splits batched decode rows into the fewest even row groups of at most 8', () => {
    for (let rows = 2; rows <= 32; rows++) {
      const size = matvecGroupRows(rows);
      const groups = Math.ceil(rows / size);
      expect(size).toBeLessThanOrEqual(MAX_MATVEC_ROWS);
      expect(groups).toBe(Math.ceil(rows / MAX_MATVEC_ROWS));
      // Padding (rows the last group computes for nothing) is less than one row per group.
      expect(groups * size - rows).toBeLessThan(groups);
    }
    expect(matvecGroupRows(13)).toBe(7);
    expect(matvecGroupRows(32)).toBe(8);
    expect(resolveTuning({ batchMatvec: false }).batchMatvec).toBe(false);
    expect(errorCode(() => resolveTuning({ batchMatvec: 'no' as unknown as boolean }))).toBe('INVALID_ARGUMENT');
  });

  it('rejects a key-split floor that is not an integer from 1 to the score buffer', () => {
    expectRejected('decodeAttentionMinKeysPerSplit', [0, -4, 1.5, Number.NaN, MAX_DECODE_KEYS_PER_SPLIT + 1]);
  });

  it('takes a decode attention occupancy target from 1 to 65535 workgroups', () => {
    expect(resolveTuning().decodeAttentionTargetWorkgroups).toBe(256);
    expect(resolveTuning({ decodeAttentionTargetWorkgroups: 1024 }).decodeAttentionTargetWorkgroups).toBe(1024);
    expectRejected('decodeAttentionTargetWorkgroups', [0, 2.5, Number.NaN, 65536]);
  });

  it('takes batchQuantRows from 0 (off, the default) to 8 rows per group', () => {
    expect(resolveTuning().batchQuantRows).toBe(0);
    expect(resolveTuning({ batchQuantRows: 4 }).batchQuantRows).toBe(4);
    expectRejected('batchQuantRows', [-1, 2.5, Number.NaN, 9]);
  });

  it('takes int8BatchRows from 0 (off, the default) to 32 rows', () => {
    expect(resolveTuning().int8BatchRows).toBe(0);
    expect(resolveTuning({ int8BatchRows: 9 }).int8BatchRows).toBe(9);
    expectRejected('int8BatchRows', [-1, 1.5, Number.NaN, 33]);
  });

  it('takes quantized mat-vec variants and rejects one no kernel can take (INVALID_CONFIG naming the type)', () => {
    expect(resolveTuning().quantMatvec).toEqual({});
    const vector = { layout: 'vector', rowsPerWorkgroup: 4, workgroupSize: 64 } as const;
    expect(resolveTuning({ quantMatvec: { Q4_K: vector } }).quantMatvec.Q4_K).toEqual(vector);
    const bad = { layout: 'rows', rowsPerWorkgroup: 12, workgroupSize: 64 } as const;
    expect(errorCode(() => resolveTuning({ quantMatvec: { Q4_K: bad } }))).toBe('INVALID_CONFIG');
    expect(() => resolveTuning({ quantMatvec: { Q6_K: { rowsPerWorkgroup: 0 } } })).toThrow('tuning.quantMatvec.Q6_K');
  });

  it('takes a subgroup-matrix GEMM tiling and rejects one no kernel can take (INVALID_CONFIG)', () => {
    expect(resolveTuning().int8GemmTiling).toBeUndefined();
    const block = {
      subgroupRows: 2,
      subgroupCols: 2,
      matrixRows: 4,
      matrixCols: 2,
      stepBlocks: 1,
      scaling: 'block',
    } as const;
    expect(resolveTuning({ int8GemmTiling: block }).int8GemmTiling).toEqual(block);
    for (const bad of [
      { ...block, matrixRows: 0 },
      { ...block, subgroupCols: 2.5 },
      { ...block, stepBlocks: 3 },
      { ...block, scaling: 'row' },
      { ...block, resultsPerBarrier: 0 },
      { ...block, resultLayout: 'diagonal' },
      { ...block, resultStride: 65 },
      { ...block, conversion: 'float' },
      { ...block, multiply: 'later' },
    ]) {
      const tiling = bad as unknown as WebGpuTuning['int8GemmTiling'];
      expect(errorCode(() => resolveTuning({ int8GemmTiling: tiling }))).toBe('INVALID_CONFIG');
      expect(() => resolveTuning({ int8BatchGemmTiling: tiling })).toThrow('tuning.int8BatchGemmTiling');
    }
    expect(resolveTuning().int8BatchGemmTiling).toBeUndefined();
    expect(resolveTuning({ int8BatchGemmTiling: block }).int8BatchGemmTiling).toEqual(block);
    expect(resolveTuning().int8BatchGemm).toBe(false);
    expect(errorCode(() => resolveTuning({ int8BatchGemm: 1 as unknown as boolean }))).toBe('INVALID_ARGUMENT');
  });

  it('turns int8Prefill on by default and takes only a boolean', () => {
    expect(resolveTuning().int8Prefill).toBe(true);
    expect(resolveTuning({ int8Prefill: false }).int8Prefill).toBe(false);
    const notBoolean = { int8Prefill: 'yes' } as unknown as Partial<WebGpuTuning>;
    expect(errorCode(() => resolveTuning(notBoolean))).toBe('INVALID_ARGUMENT');
  });

  it('createWebGpuBackend rejects a bad tuning before it looks for a device', async () => {
    const created = createWebGpuBackend({ tuning: { decodeAttentionMinKeysPerSplit: 0 } });
    await expect(created).rejects.toSatisfy((error) => StrataError.isInstance(error, 'INVALID_ARGUMENT'));
  });
});
