import { dequantize } from '@strata/kernels-cpu';
import { describe, expect, it } from 'vitest';
import { resolveTuning } from '../../../runtime/tuning.js';
import { useBackendForTests } from '../../../testing/backend-for-tests.js';
import type { WebGpuBackend } from '../../../webgpu-backend.js';
import { quantBaseRows, randomValues } from '../testing/weight-fixtures.js';
import type { MatvecEpilogue } from '../matvec-fusion.js';
import { type BatchGemmStore, int8BatchGemm, int8BatchGemmVariant } from './int8-batch-gemm.js';
import { BATCH_SUBGROUP_MATRIX_TILING, type Int8GemmVariant } from './int8-gemm-shader.js';
import { columnsOf, EPSILON, expectClose, int8Contract, siluGateUp } from './testing/int8-contract.js';
import { emulateSubgroupMatrices } from './testing/emulated-subgroup-matrix.js';

// The batched decode products on the int8 GEMM (`tuning.int8BatchGemm`) against the int8 contract computed on
// the CPU: quantized rows (with the fused RMS norm), the subgroup-matrix GEMM tiled for 32 rows with its builtins
// emulated in core WGSL (lavapipe has none; `testing/emulated-subgroup-matrix.ts`), and each store: plain with a
// bias, a 3-part split of normed rows, gate·up of normed rows, a residual add. 11 rows fill part of one 32-row tile.
// Real rows of the quant-base model (512 columns).

const OUT = 12;
const WIDTHS = [6, 4, 2];
const H100_I8 = { M: 16, N: 16, K: 32, subgroupSize: 32 } as const;

async function run(gpu: WebGpuBackend, type: 'Q4_K' | 'Q8_0', rows: number): Promise<void> {
  const runtime = gpu.runtime;
  const { bytes, columns } = await quantBaseRows(type, 2 * OUT);
  const dequantized = dequantize(type, bytes, 2 * OUT * columns);
  const firstRows = dequantized.subarray(0, OUT * columns);
  const vector = async (name: string, values: Float32Array) =>
    runtime.weight(
      await gpu.uploadWeight({ name, type: 'F32', shape: [values.length] }, new Uint8Array(values.buffer)),
    );
  const weight = runtime.weight(
    await gpu.uploadWeight({ name: 'w', type, shape: [OUT, columns] }, bytes.subarray(0, bytes.length / 2)),
  );
  const gateUp = runtime.weight(await gpu.uploadWeight({ name: 'gate_up', type, shape: [2 * OUT, columns] }, bytes));
  const biasValues = randomValues(OUT, 2);
  const gainValues = randomValues(columns, 3);
  const bias = await vector('b', biasValues);
  const norm = { gain: { tracked: (await vector('g', gainValues)).chunks[0]!.tracked }, epsilon: EPSILON };
  const inputValues = randomValues(rows * columns, 7).map((value, index) => value * (1 + (index % 5)));
  const residualValues = randomValues(rows * OUT, 8);
  const input = runtime.tensor(gpu.upload(inputValues, [rows, columns]));
  const variant: Int8GemmVariant = {
    type,
    bias: false,
    inner: { kind: 'subgroup-matrix', matrix: H100_I8, tiling: BATCH_SUBGROUP_MATRIX_TILING },
  };
  const emulated = { name: 'emulated', code: (wgsl: string) => emulateSubgroupMatrices(wgsl, H100_I8) };
  const store = (epilogue: MatvecEpilogue, extra: Partial<BatchGemmStore> = {}): BatchGemmStore => ({
    epilogue,
    boundary1: 0,
    boundary2: 0,
    buffers: [],
    ...extra,
  });
  const product = (
    w: typeof weight,
    width: number,
    how: BatchGemmStore,
    options: { bias?: typeof bias; normed?: boolean } = {},
  ) => {
    const output = runtime.allocate('f32', [rows, width]);
    const tensors = { weight: w, input, bias: options.bias, output };
    return int8BatchGemm(runtime, tensors, rows, how, options.normed ? norm : undefined, variant, emulated);
  };
  const plain = product(weight, OUT, store({ kind: 'store' }), { bias });
  const parts = WIDTHS.slice(1).map((width) => runtime.allocate('f32', [rows, width]));
  const first = product(
    weight,
    WIDTHS[0]!,
    store(
      { kind: 'split', parts: 3 },
      {
        boundary1: WIDTHS[0]!,
        boundary2: WIDTHS[0]! + WIDTHS[1]!,
        buffers: parts.map((part) => ({ tracked: part.tracked })),
      },
    ),
    { normed: true },
  );
  const gated = product(gateUp, OUT, store({ kind: 'gated', activation: 'silu' }, { boundary1: OUT, boundary2: OUT }), {
    normed: true,
  });
  const residual = runtime.tensor(gpu.upload(residualValues, [rows, OUT]));
  const added = product(weight, OUT, store({ kind: 'residual' }, { buffers: [{ tracked: residual.tracked }] }));
  const read = async (tensor: typeof plain) => (await gpu.read(tensor)) as Float32Array;

  const plainContract = int8Contract(inputValues, rows, columns, firstRows, OUT, { bias: biasValues });
  expectClose(await read(plain), plainContract.result, plainContract.magnitude, `${type} plain product with a bias`);
  const normed = int8Contract(inputValues, rows, columns, firstRows, OUT, { gain: gainValues });
  const splits = [first, ...parts];
  let from = 0;
  for (const [part, width] of WIDTHS.entries()) {
    const expected = columnsOf(normed.result, rows, OUT, from, from + width);
    const magnitude = columnsOf(normed.magnitude, rows, OUT, from, from + width);
    expectClose(await read(splits[part]!), expected, magnitude, `${type} normed split part ${part}`);
    from += width;
  }
  const gateUpContract = int8Contract(inputValues, rows, columns, dequantized, 2 * OUT, { gain: gainValues });
  const { expected, magnitude } = siluGateUp(gateUpContract, rows, OUT);
  expectClose(await read(gated), expected, magnitude, `${type} gate·up`);
  const addContract = int8Contract(inputValues, rows, columns, firstRows, OUT);
  expectClose(
    await read(added),
    addContract.result.map((value, index) => value + residualValues[index]!),
    addContract.magnitude.map((value, index) => value + Math.abs(residualValues[index]!)),
    `${type} residual add`,
  );
}

describe('WebGPU batched decode products on the int8 GEMM (tuning.int8BatchGemm)', () => {
  const gpu = useBackendForTests({ tuning: { int8BatchRows: 2, int8BatchGemm: true } });

  it('Q4_K, 11 rows, every store: the int8 contract', async (context) => {
    await run(gpu(context), 'Q4_K', 11);
  });

  it('Q8_0, 11 rows, every store: the int8 contract', async (context) => {
    await run(gpu(context), 'Q8_0', 11);
  });

  it('routes only where subgroup matrices, the tiling and the row threshold allow, for Q4_K and Q8_0', (context) => {
    const backend = gpu(context);
    // lavapipe has no subgroup matrices: nothing routes here, whatever the tuning.
    expect(backend.runtime.features.subgroupMatrix).toBeUndefined();
    expect(int8BatchGemmVariant(backend.runtime, 'Q4_K', 512, 16)).toBeUndefined();
    const withMatrices = (tuning: Parameters<typeof resolveTuning>[0]) =>
      ({
        tuning: resolveTuning(tuning),
        features: { subgroupMatrix: H100_I8 },
        limits: backend.runtime.limits,
      }) as never;
    const routed = withMatrices({ int8BatchRows: 16, int8BatchGemm: true });
    const variant = int8BatchGemmVariant(routed, 'Q4_K', 512, 16);
    expect(variant?.inner.kind === 'subgroup-matrix' && variant.inner.tiling).toEqual(BATCH_SUBGROUP_MATRIX_TILING);
    const tiling = { ...BATCH_SUBGROUP_MATRIX_TILING, subgroupCols: 2 };
    const tuned = int8BatchGemmVariant(
      withMatrices({ int8BatchRows: 16, int8BatchGemm: true, int8BatchGemmTiling: tiling }),
      'Q8_0',
      64,
      16,
    );
    expect(tuned?.inner.kind === 'subgroup-matrix' && tuned.inner.tiling).toEqual(tiling);
    expect(int8BatchGemmVariant(routed, 'Q8_0', 512, 32)?.type).toBe('Q8_0');
    expect(int8BatchGemmVariant(routed, 'Q4_K', 512, 15)).toBeUndefined();
    expect(int8BatchGemmVariant(routed, 'Q6_K', 512, 16)).toBeUndefined();
    expect(int8BatchGemmVariant(routed, 'Q4_K', 96, 16)).toBeUndefined();
    expect(int8BatchGemmVariant(routed, 'Q8_0', 48, 16)).toBeUndefined();
    // Off by default.
    expect(int8BatchGemmVariant(withMatrices({ int8BatchRows: 16 }), 'Q4_K', 512, 16)).toBeUndefined();
    expect(int8BatchGemmVariant(withMatrices({ int8BatchGemm: true }), 'Q4_K', 512, 16)).toBeUndefined();
  });
});
