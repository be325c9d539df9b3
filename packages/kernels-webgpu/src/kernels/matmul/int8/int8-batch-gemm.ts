import type { WeightType } from '@strata/core';
import type { BufferBinding } from '../../../runtime/recorder.js';
import type { GpuRuntime } from '../../../runtime/runtime.js';
import { linearGrid, WGSL_LINEAR_GROUP } from '../../../runtime/shader.js';
import type { GpuTensor } from '../../../tensor/gpu-tensor.js';
import type { GpuWeight } from '../../../weights/gpu-weight.js';
import { activationFunction, WGSL_MATH } from '../../wgsl/math.js';
import { fusionKey, fusionStorage, type MatvecEpilogue } from '../matvec-fusion.js';
import {
  BATCH_SUBGROUP_MATRIX_TILING,
  INT8_GEMM_STORAGE,
  type Int8GemmVariant,
  int8GemmKey,
  int8GemmWgsl,
} from './int8-gemm-shader.js';
import { dispatchInt8Gemm, int8GemmFits } from './int8-matmul.js';
import { isInt8WeightType } from './int8-weight-blocks.js';
import { quantizeRowsOnDevice, type RowQuantizationNorm } from './row-quantization.js';

// The products of a batched decode step (16 … 32 input rows, `tuning.int8BatchRows`) with a Q4_K or Q8_0 weight on
// the int8 GEMM of prefill, tiled for few rows (`tuning.int8BatchGemm`): the rows are quantized with the RMS
// norm the product fuses (`row-quantization.ts`), the GEMM writes every weight row's total, and one element-wise pass
// scales each row's totals by its norm inverse, adds the bias and stores them as the product's epilogue says (plain,
// residual, split into Q/K/V parts, gated). Same int8 contract as the prefill GEMM (`int8-gemm-reference.ts`).

/** Invocations per workgroup of the store pass. */
const STORE_WORKGROUP = 256;

/**
 * The GEMM variant of a product of `rows` rows with a `type` weight of `columns` when it runs here: `int8BatchRows`
 * takes it, `int8BatchGemm` is on, the device has an i8 subgroup-matrix configuration and room for the tiles
 * (`int8BatchGemmTiling`, else {@link BATCH_SUBGROUP_MATRIX_TILING}); else undefined.
 */
export function int8BatchGemmVariant(
  runtime: GpuRuntime,
  type: WeightType,
  columns: number,
  rows: number,
): Int8GemmVariant | undefined {
  const { int8BatchRows, int8BatchGemm, int8BatchGemmTiling } = runtime.tuning;
  const matrix = runtime.features.subgroupMatrix;
  if (!int8BatchGemm || matrix === undefined || int8BatchRows === 0 || rows < int8BatchRows) return undefined;
  const tiling = int8BatchGemmTiling ?? BATCH_SUBGROUP_MATRIX_TILING;
  if (!isInt8WeightType(type) || columns === 0 || columns % (type === 'Q4_K' ? 256 : 32) !== 0) return undefined;
  const variant: Int8GemmVariant = { type, bias: false, inner: { kind: 'subgroup-matrix', matrix, tiling } };
  return int8GemmFits(runtime, variant) ? variant : undefined;
}

/** How the store pass writes the GEMM's totals: the epilogue, its boundaries, its extra buffers. */
export interface BatchGemmStore {
  /** The product's epilogue (`matvec-fusion.ts`). */
  readonly epilogue: MatvecEpilogue;
  /** Split and gated boundaries in weight rows (`boundary2` = `boundary1` for two parts and gated). */
  readonly boundary1: number;
  /** The second boundary of a three-part split. */
  readonly boundary2: number;
  /** The residual (residual epilogue) or the second and third parts (split). */
  readonly buffers: readonly BufferBinding[];
}

function storeWgsl(epilogue: MatvecEpilogue, norm: boolean, bias: boolean): string {
  const extra =
    epilogue.kind === 'residual'
      ? ['residual']
      : epilogue.kind === 'split'
        ? epilogue.parts === 3
          ? ['output1', 'output2']
          : ['output1']
        : [];
  const total = (column: string) =>
    `totals[row * params.width + ${column}]${norm ? ' * inverses[row]' : ''}${bias ? ` + bias[${column}]` : ''}`;
  let body: string;
  switch (epilogue.kind) {
    case 'gated':
      body = `  let half = params.width / 2u;
  if (column >= half) { return; }
  output[row * half + column] = ${activationFunction(epilogue.activation)}(${total('column')}) * (${total('column + half')});`;
      break;
    case 'residual':
      body = `  let index = row * params.width + column;
  output[index] = residual[index] + ${total('column')};`;
      break;
    case 'split':
      body = `  let value = ${total('column')};
  if (column < params.boundary1) {
    output[row * params.boundary1 + column] = value;
  } else if (column < params.boundary2) {
    output1[row * (params.boundary2 - params.boundary1) + column - params.boundary1] = value;
  }${
    epilogue.parts === 3
      ? ` else {
    output2[row * (params.width - params.boundary2) + column - params.boundary2] = value;
  }`
      : ''
  }`;
      break;
    case 'store':
      body = `  output[row * params.width + column] = ${total('column')};`;
      break;
  }
  return /* wgsl */ `
struct Params { rows: u32, width: u32, boundary1: u32, boundary2: u32 }
@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> totals: array<f32>;
@group(0) @binding(2) var<storage, read> inverses: array<f32>;
@group(0) @binding(3) var<storage, read> bias: array<f32>;
@group(0) @binding(4) var<storage, read_write> output: array<f32>;
${extra.map((name, index) => `@group(0) @binding(${5 + index}) var<storage, ${name === 'residual' ? 'read' : 'read_write'}> ${name}: array<f32>;`).join('\n')}
${WGSL_LINEAR_GROUP}
${epilogue.kind === 'gated' ? WGSL_MATH : ''}
@compute @workgroup_size(${STORE_WORKGROUP})
fn main(@builtin(workgroup_id) group: vec3u, @builtin(num_workgroups) groups: vec3u,
        @builtin(local_invocation_index) li: u32) {
  let element = linear_group(group, groups) * ${STORE_WORKGROUP}u + li;
  if (element >= params.rows * params.width) { return; }
  let row = element / params.width;
  let column = element % params.width;
${body}
}
`;
}

/**
 * The product of `rows` input rows (`tensors.input`, f32 `[rows, columns]`) with a Q4_K or Q8_0 weight on the int8
 * GEMM `variant` (see above; `int8BatchGemmVariant`): quantizes the rows (times `norm`'s gain, when given), runs the
 * GEMM into totals `[rows, weight rows]`, then the store pass. `rewrite` changes the GEMM's WGSL under a key of its
 * own `name` (tests emulate the subgroup-matrix builtins with it). Returns `tensors.output`.
 */
export function int8BatchGemm(
  runtime: GpuRuntime,
  tensors: { weight: GpuWeight; input: GpuTensor; bias: GpuWeight | undefined; output: GpuTensor },
  rows: number,
  store: BatchGemmStore,
  norm: RowQuantizationNorm | undefined,
  variant: Int8GemmVariant,
  rewrite?: { readonly name: string; readonly code: (wgsl: string) => string },
): GpuTensor {
  const { weight, input, bias, output } = tensors;
  const [width, columns] = weight.shape as [number, number];
  const quantized = quantizeRowsOnDevice(runtime, input, rows, columns, norm);
  const totals = runtime.allocate('f32', [rows, width]);
  try {
    const gemm = {
      key: rewrite === undefined ? int8GemmKey(variant) : `${rewrite.name}-${int8GemmKey(variant)}`,
      code: () => (rewrite === undefined ? int8GemmWgsl(variant) : rewrite.code(int8GemmWgsl(variant))),
      storage: INT8_GEMM_STORAGE,
    };
    const gemmTensors = { source: input, weight, bias: undefined, output: totals };
    dispatchInt8Gemm(runtime, gemm, variant, gemmTensors, quantized, rows);
    const { epilogue } = store;
    const withNorm = quantized.inverses !== undefined;
    const withBias = bias !== undefined;
    runtime.dispatch({
      shader: {
        key: `int8-batch-gemm-store${fusionKey({ norm: withNorm, epilogue })}:bias=${withBias ? 1 : 0}`,
        code: () => storeWgsl(epilogue, withNorm, withBias),
        // The epilogue's buffers are bound as the fused mat-vecs bind them (residual read, split parts written).
        storage: ['read', 'read', 'read', 'write', ...fusionStorage({ norm: false, epilogue })],
      },
      uniforms: Uint32Array.of(rows, width, store.boundary1, store.boundary2),
      buffers: [
        { tracked: totals.tracked },
        { tracked: quantized.inverses?.tracked ?? runtime.emptyBuffer },
        { tracked: bias === undefined ? runtime.emptyBuffer : bias.chunks[0]!.tracked },
        { tracked: output.tracked },
        ...store.buffers,
      ],
      workgroups: linearGrid(Math.ceil((rows * width) / STORE_WORKGROUP)),
    });
  } finally {
    runtime.release(totals);
    runtime.release(quantized.quants);
    runtime.release(quantized.scales);
    runtime.release(quantized.sums);
    if (quantized.inverses !== undefined) runtime.release(quantized.inverses);
  }
  return output;
}
