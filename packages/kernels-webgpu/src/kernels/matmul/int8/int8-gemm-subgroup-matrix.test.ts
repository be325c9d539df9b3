import { rowByteLength } from '@strata/kernels-cpu';
import { describe, expect, it } from 'vitest';
import { pickInt8SubgroupMatrix } from '../../../device/subgroup-matrix.js';
import { useBackendForTests } from '../../../testing/backend-for-tests.js';
import { quantBaseRows, randomValues, seededRandom } from '../testing/weight-fixtures.js';
import { quantizeActivations } from './activation-quantization.js';
import { int8GemmReference, int8WeightBlocks } from './int8-gemm-reference.js';
import {
  DEFAULT_SUBGROUP_MATRIX_TILING,
  INT8_GEMM_STORAGE,
  type Int8GemmVariant,
  int8GemmKey,
  int8GemmWgsl,
  int8GemmWorkgroupBytes,
  type SubgroupMatrixGemmTiling,
  subgroupMatrixTilingProblem,
} from './int8-gemm-shader.js';
import { dispatchInt8Gemm, quantizeActivationsOnDevice } from './int8-matmul.js';
import { emulateSubgroupMatrices } from './testing/emulated-subgroup-matrix.js';

// The subgroup-matrix variant cannot run here (lavapipe has no chromium-experimental-subgroup-matrix): its WGSL is
// checked as text, and run with the builtins emulated in core WGSL (`testing/emulated-subgroup-matrix.ts`), which
// covers everything but the builtins themselves (the probe checked those bit-exactly on an H100). The GPU
// conformance run (`conformance-run.mjs --int8-prefill`) covers the real thing.

const H100_I8 = { M: 16, N: 16, K: 32, subgroupSize: 32 } as const;

describe('int8 GEMM on subgroup matrices: configuration and WGSL text', () => {
  it('picks the largest i8 → i32 configuration whose depth divides a block, only with a fixed subgroup size', () => {
    const configs = [
      { componentType: 'u8', resultComponentType: 'u32', M: 16, N: 16, K: 32 },
      { componentType: 'i8', resultComponentType: 'i32', M: 16, N: 8, K: 32 },
      { componentType: 'i8', resultComponentType: 'i32', M: 16, N: 16, K: 32 },
      { componentType: 'f16', resultComponentType: 'f16', M: 16, N: 16, K: 16 },
    ];
    expect(pickInt8SubgroupMatrix(configs, 32, 32)).toEqual(H100_I8);
    expect(pickInt8SubgroupMatrix(configs, 16, 32)).toBeUndefined();
    expect(pickInt8SubgroupMatrix(configs, undefined, undefined)).toBeUndefined();
    expect(pickInt8SubgroupMatrix(configs.slice(0, 1), 32, 32)).toBeUndefined();
    const deep = [{ componentType: 'i8', resultComponentType: 'i32', M: 8, N: 8, K: 64 }];
    expect(pickInt8SubgroupMatrix(deep, 32, 32)).toBeUndefined();
  });

  it("builds the probe's structure: enable directive, the configuration's M/N/K, 256 invocations, 40 KiB", () => {
    const variant: Int8GemmVariant = {
      type: 'Q8_0',
      bias: true,
      inner: { kind: 'subgroup-matrix', matrix: H100_I8, tiling: DEFAULT_SUBGROUP_MATRIX_TILING },
    };
    const code = int8GemmWgsl(variant);
    expect(code.startsWith('enable chromium_experimental_subgroup_matrix;\nenable subgroups;\n')).toBe(true);
    expect(code).toContain('alias Left = subgroup_matrix_left<i8, 32, 16>;');
    expect(code).toContain('alias Right = subgroup_matrix_right<i8, 16, 32>;');
    expect(code).toContain('alias Result = subgroup_matrix_result<i32, 16, 16>;');
    expect(code).toContain('@compute @workgroup_size(256)');
    expect(code).toContain('subgroupMatrixLoad<Right, col_major>(&tileB,');
    // One store and one barrier per result matrix and block: 4 × 2 matrices per subgroup.
    expect(code.match(/subgroupMatrixStore<row_major>\(&scratch,/g)).toHaveLength(8);
    expect(int8GemmWorkgroupBytes(variant)).toBe(40960);
    const narrow = { ...variant, inner: { ...variant.inner, matrix: { ...H100_I8, N: 8 } } } as Int8GemmVariant;
    expect(int8GemmKey(narrow)).not.toBe(int8GemmKey(variant));
    expect(int8GemmWgsl(narrow)).toContain('alias Result = subgroup_matrix_result<i32, 8, 16>;');
    // Block scaling: every result of the block stored, then one barrier; a step of one block stages 48-byte rows.
    const block = {
      ...variant,
      inner: { ...variant.inner, tiling: { ...DEFAULT_SUBGROUP_MATRIX_TILING, scaling: 'block', stepBlocks: 1 } },
    } as Int8GemmVariant;
    const blockCode = int8GemmWgsl(block);
    expect(blockCode.match(/subgroupMatrixStore<row_major>\(&scratch,/g)).toHaveLength(8);
    expect(blockCode.match(/workgroupBarrier\(\);/g)).toHaveLength(3);
    expect(code.match(/workgroupBarrier\(\);/g)).toHaveLength(10);
    expect(int8GemmKey(block)).not.toBe(int8GemmKey(variant));
    // Staged rows of 12 words, one block of scale pairs, 8 regions of 1 KiB for each of 8 subgroups.
    expect(int8GemmWorkgroupBytes(block)).toBe(256 * (48 + 8) + 8 * 8 * 1024);
    const q4k: Int8GemmVariant = { ...variant, type: 'Q4_K' };
    expect(int8GemmWgsl(q4k)).toMatch(/- sa\d+_\d+\.y \* sb\d+_\d+\.y/);
    expect(code).not.toMatch(/- sa\d+_\d+\.y/);
    // Results stored column-major with a wider stride, converted through the mantissa: their own keys and sizes.
    const column = {
      ...variant,
      inner: {
        ...variant.inner,
        tiling: { ...DEFAULT_SUBGROUP_MATRIX_TILING, resultLayout: 'column', resultStride: 20, conversion: 'mantissa' },
      },
    } as Int8GemmVariant;
    const columnCode = int8GemmWgsl(column);
    expect(columnCode.match(/subgroupMatrixStore<col_major>\(&scratch, [^;]*, 20u\);/g)).toHaveLength(8);
    expect(columnCode).toContain('bitcast<f32>(scratch[');
    expect(code).not.toContain('bitcast<f32>(scratch[');
    expect(int8GemmWorkgroupBytes(column)).toBe(40960 + 2 * 8 * 16 * 4 * 4);
    expect(int8GemmKey(column)).not.toBe(int8GemmKey(variant));
    // Two results stored between barriers: half the barriers, twice the regions.
    const twoTiling = { ...DEFAULT_SUBGROUP_MATRIX_TILING, resultsPerBarrier: 2 } as const;
    const two = { ...variant, inner: { ...variant.inner, tiling: twoTiling } } as Int8GemmVariant;
    expect(int8GemmWgsl(two).match(/workgroupBarrier\(\);/g)).toHaveLength(6);
    expect(int8GemmWorkgroupBytes(two)).toBe(40960 + 2 * 8 * 1024);
    // Each result multiplied just before its store: the same multiplies, in another order.
    const eachTiling = { ...DEFAULT_SUBGROUP_MATRIX_TILING, multiply: 'each' } as const;
    const eachCode = int8GemmWgsl({ ...variant, inner: { ...variant.inner, tiling: eachTiling } } as Int8GemmVariant);
    const firstLines = (text: string) => text.split('\n').filter((line) => /subgroupMatrix(Multiply|Store)/.test(line));
    expect(
      firstLines(code)
        .slice(0, 2)
        .map((line) => line.includes('Multiply')),
    ).toEqual([true, true]);
    expect(
      firstLines(eachCode)
        .slice(0, 3)
        .map((line) => line.includes('Multiply')),
    ).toEqual([true, false, true]);
    expect(subgroupMatrixTilingProblem({ ...DEFAULT_SUBGROUP_MATRIX_TILING, resultStride: 0 })).toMatch(/resultStride/);
  });
});

describe('int8 GEMM on subgroup matrices, builtins emulated (WebGPU)', () => {
  const gpu = useBackendForTests({ maxChunkBytes: 2048 });
  // 32 × 64 tiles (4 subgroups of 32, 1 × 2 matrices each): the default's 40 KiB exceed lavapipe's 32 KiB of
  // workgroup memory, and fewer matrices compile faster.
  const tiling: SubgroupMatrixGemmTiling = { subgroupRows: 2, subgroupCols: 2, matrixRows: 1, matrixCols: 2 };
  const rows = 70;
  const out = 37;

  const block = { ...tiling, scaling: 'block' } as const;
  const cases = [
    { type: 'Q8_0', matrix: H100_I8, columns: 96, bias: true, tiling: { ...tiling, multiply: 'each' } },
    {
      type: 'Q4_K',
      matrix: { ...H100_I8, N: 8 },
      columns: 512,
      bias: false,
      tiling: { ...tiling, conversion: 'mantissa', resultsPerBarrier: 2 },
    },
    { type: 'Q8_0', matrix: H100_I8, columns: 96, bias: false, tiling: { ...block, stepBlocks: 1, resultStride: 20 } },
    {
      type: 'Q4_K',
      matrix: { ...H100_I8, N: 8 },
      columns: 512,
      bias: true,
      tiling: { ...block, resultLayout: 'column', resultStride: 20 },
    },
  ] as const;
  for (const { type, matrix, columns, bias: withBias, tiling } of cases) {
    const knobs = Object.entries(tiling)
      .filter(([name]) =>
        ['stepBlocks', 'resultsPerBarrier', 'resultLayout', 'resultStride', 'conversion', 'multiply'].includes(name),
      )
      .map(([name, value]) => `${name} ${String(value)}`);
    const scaling = [`${tiling.scaling ?? 'pair'} scaling`, ...knobs].join(', ');
    it(`${type}, ${matrix.M}×${matrix.N}×${matrix.K} matrices, ${scaling}, ${rows} rows × ${out} outputs × ${columns}`, async (context) => {
      const backend = gpu(context);
      let bytes: Uint8Array;
      if (type === 'Q4_K') {
        bytes = (await quantBaseRows(type, out)).bytes;
      } else {
        const next = seededRandom(9);
        bytes = Uint8Array.from({ length: out * rowByteLength(type, columns) }, (_, index) =>
          index % 34 === 1 ? 0x1c : Math.floor((next() + 1) * 128) & 0xff,
        );
      }
      const input = randomValues(rows * columns, 17);
      const biasValues = withBias ? randomValues(out, 4) : undefined;
      const weight = backend.runtime.weight(
        await backend.uploadWeight({ name: 'w', type, shape: [out, columns] }, bytes),
      );
      const bias =
        biasValues === undefined
          ? undefined
          : backend.runtime.weight(
              await backend.uploadWeight({ name: 'b', type: 'F32', shape: [out] }, new Uint8Array(biasValues.buffer)),
            );
      const source = backend.runtime.tensor(backend.upload(input, [rows, columns]));
      const output = backend.runtime.allocate('f32', [rows, out]);
      const variant: Int8GemmVariant = { type, bias: withBias, inner: { kind: 'subgroup-matrix', matrix, tiling } };
      const shader = {
        key: `emulated-${int8GemmKey(variant)}`,
        code: () => emulateSubgroupMatrices(int8GemmWgsl(variant), matrix),
        storage: INT8_GEMM_STORAGE,
      };
      const activations = quantizeActivationsOnDevice(backend.runtime, source, rows, columns, type === 'Q4_K');
      dispatchInt8Gemm(backend.runtime, shader, variant, { source, weight, bias, output }, activations, rows);
      const actual = (await backend.read(output)) as Float32Array;
      const expected = int8GemmReference(
        quantizeActivations(input, rows, columns),
        int8WeightBlocks(type, bytes, out, columns),
        biasValues,
      );
      for (let index = 0; index < actual.length; index++) {
        const error = Math.abs(actual[index]! - expected.result[index]!);
        if (!(error <= 1e-5 * expected.magnitude[index]! + 1e-6)) {
          expect.fail(`element ${index} is ${actual[index]}, the int8 contract gives ${expected.result[index]}`);
        }
      }
      for (const tensor of [source, output, activations.quants, activations.scales]) backend.dispose(tensor);
      if (activations.sums !== undefined) backend.dispose(activations.sums);
      backend.dispose(weight);
      if (bias !== undefined) backend.dispose(bias);
    });
  }
});
