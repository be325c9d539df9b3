import { StrataError } from '@strata/core';
import type { GpuRuntime } from '../../../runtime/runtime.js';
import { linearGrid, MAX_WORKGROUPS_PER_DIMENSION, type ShaderSpec } from '../../../runtime/shader.js';
import type { GpuTensor } from '../../../tensor/gpu-tensor.js';
import type { GpuWeight } from '../../../weights/gpu-weight.js';
import { INT8_BLOCK_COLUMNS } from './activation-quantization.js';
import {
  QUANTIZE_STORAGE,
  QUANTIZE_WORKGROUP_SIZE,
  quantizeActivationsKey,
  quantizeActivationsUniforms,
  quantizeActivationsWgsl,
} from './activation-quantization-shader.js';
import {
  DEFAULT_PACKED_TILING,
  DEFAULT_SUBGROUP_MATRIX_TILING,
  INT8_GEMM_STORAGE,
  type Int8GemmInner,
  type Int8GemmVariant,
  int8GemmKey,
  int8GemmTile,
  int8GemmUniforms,
  int8GemmWgsl,
  int8GemmWorkgroupBytes,
} from './int8-gemm-shader.js';
import { isInt8WeightType } from './int8-weight-blocks.js';

/** Activations quantized on the device: packed quants `[rows, columns / 4]`, scales and (when asked) sums per block. */
export interface DeviceQuantizedActivations {
  /** i32 `[rows, columns / 4]`: 4 int8 quants per word, lowest byte first. */
  readonly quants: GpuTensor;
  /** f32 `[rows, columns / 32]`: the blocks' scales. */
  readonly scales: GpuTensor;
  /** i32 `[rows, columns / 32]`: the blocks' quant sums, or undefined when not asked for. */
  readonly sums: GpuTensor | undefined;
}

/**
 * Records the quantization of `input` (f32 `[rows, columns]`, columns a multiple of 32) into int8 blocks of 32, bit
 * for bit as `quantizeActivations` (`activation-quantization.ts`). The caller releases the returned tensors.
 */
export function quantizeActivationsOnDevice(
  runtime: GpuRuntime,
  input: GpuTensor,
  rows: number,
  columns: number,
  withSums: boolean,
): DeviceQuantizedActivations {
  if (columns % INT8_BLOCK_COLUMNS !== 0 || columns === 0 || input.size !== rows * columns) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `Int8 activation blocks need [rows, a multiple of 32], got [${rows}, ${columns}].`,
      {
        details: { rows, columns, input: [...input.shape] },
      },
    );
  }
  const blocks = columns / INT8_BLOCK_COLUMNS;
  const quants = runtime.allocate('i32', [rows, columns / 4]);
  const scales = runtime.allocate('f32', [rows, blocks]);
  const sums = withSums ? runtime.allocate('i32', [rows, blocks]) : undefined;
  runtime.dispatch({
    shader: {
      key: quantizeActivationsKey(withSums),
      code: () => quantizeActivationsWgsl(withSums),
      storage: QUANTIZE_STORAGE,
    },
    uniforms: quantizeActivationsUniforms(rows, columns),
    buffers: [
      { tracked: input.tracked },
      { tracked: quants.tracked },
      { tracked: scales.tracked },
      { tracked: sums === undefined ? runtime.emptyBuffer : sums.tracked },
    ],
    workgroups: linearGrid(Math.ceil((rows * blocks) / QUANTIZE_WORKGROUP_SIZE)),
  });
  return { quants, scales, sums };
}

/** Whether the device can run `variant` (its workgroup memory and invocations within the limits). */
export function int8GemmFits(runtime: GpuRuntime, variant: Int8GemmVariant): boolean {
  const limits = runtime.limits;
  const { inner } = variant;
  const invocations =
    inner.kind === 'packed' ? 256 : inner.tiling.subgroupRows * inner.tiling.subgroupCols * inner.matrix.subgroupSize;
  return (
    int8GemmWorkgroupBytes(variant) <= limits.maxComputeWorkgroupStorageSize &&
    invocations <= limits.maxComputeInvocationsPerWorkgroup &&
    invocations <= limits.maxComputeWorkgroupSizeX
  );
}

/**
 * The GEMM variant for a weight of `weight.storedType`: subgroup matrices where the device has an i8 configuration
 * (`runtime.features.subgroupMatrix`) and room for the kernel (the tuning's tiling, else the default one), else the
 * portable `dot4I8Packed` tiles. `inner` forces one (tests, benchmarks).
 */
export function int8GemmVariant(
  runtime: GpuRuntime,
  weight: GpuWeight,
  bias: boolean,
  inner?: Int8GemmInner,
): Int8GemmVariant {
  const type = weight.storedType;
  if (!isInt8WeightType(type)) {
    throw new StrataError('UNSUPPORTED_TENSOR_TYPE', `The int8 mat-mul reads Q8_0 and Q4_K weights, not ${type}.`, {
      details: { weight: weight.name, type },
    });
  }
  if (inner !== undefined) return { type, bias, inner };
  const matrix = runtime.features.subgroupMatrix;
  if (matrix !== undefined) {
    const tuned = runtime.tuning.int8GemmTiling;
    const tilings = tuned === undefined ? [DEFAULT_SUBGROUP_MATRIX_TILING] : [tuned, DEFAULT_SUBGROUP_MATRIX_TILING];
    for (const tiling of tilings) {
      const variant: Int8GemmVariant = { type, bias, inner: { kind: 'subgroup-matrix', matrix, tiling } };
      if (int8GemmFits(runtime, variant)) return variant;
    }
  }
  return { type, bias, inner: { kind: 'packed', tiling: DEFAULT_PACKED_TILING } };
}

/** The tensors of an int8 product: f32 input rows, the weight, an optional f32 bias, and the f32 output `[rows, out]`. */
export interface Int8MatmulTensors {
  /** f32 `[rows, columns]`. */
  readonly source: GpuTensor;
  /** Q8_0 or Q4_K `[out, columns]`. */
  readonly weight: GpuWeight;
  /** f32 `[out]`, or undefined. */
  readonly bias: GpuWeight | undefined;
  /** f32 `[rows, out]`, written. */
  readonly output: GpuTensor;
}

/**
 * Records one int8 GEMM dispatch per chunk of `tensors.weight` with `shader` (built for `variant`) over activations
 * already quantized on the device. Throws `SHAPE_MISMATCH` when a chunk needs more than 65535 workgroups along a side.
 */
export function dispatchInt8Gemm(
  runtime: GpuRuntime,
  shader: ShaderSpec,
  variant: Int8GemmVariant,
  tensors: Int8MatmulTensors,
  activations: DeviceQuantizedActivations,
  rows: number,
): void {
  const { weight, bias, output } = tensors;
  const [out, columns] = weight.shape as [number, number];
  const tile = int8GemmTile(variant);
  const biasBinding = { tracked: bias === undefined ? runtime.emptyBuffer : bias.chunks[0]!.tracked };
  for (const chunk of weight.chunks) {
    const groupsOut = Math.ceil(chunk.rows / tile.out);
    const groupsRows = Math.ceil(rows / tile.rows);
    if (groupsOut > MAX_WORKGROUPS_PER_DIMENSION || groupsRows > MAX_WORKGROUPS_PER_DIMENSION) {
      throw new StrataError(
        'SHAPE_MISMATCH',
        `A product of ${rows} rows with ${chunk.rows} weight rows exceeds one dispatch; process fewer rows.`,
        { details: { rows, out } },
      );
    }
    runtime.dispatch({
      shader,
      uniforms: int8GemmUniforms(columns, weight.rowBytes, rows, chunk.rows, chunk.firstRow, out),
      buffers: [
        { tracked: chunk.tracked },
        { tracked: activations.quants.tracked },
        { tracked: activations.scales.tracked },
        { tracked: activations.sums === undefined ? runtime.emptyBuffer : activations.sums.tracked },
        biasBinding,
        { tracked: output.tracked },
      ],
      workgroups: [groupsOut, groupsRows],
    });
  }
}

/**
 * `source` `[rows, columns]` × `weight` (Q8_0 or Q4_K) `[out, columns]`ᵀ (+ `bias`) into `output` `[rows, out]`,
 * through 8-bit activations: the rows are quantized to int8 blocks of 32 (`quantizeActivationsOnDevice`), then one
 * int8 GEMM dispatch per weight chunk (`int8-gemm-shader.ts`; `inner` forces its variant). Returns `output`.
 */
export function int8Matmul(
  runtime: GpuRuntime,
  tensors: Int8MatmulTensors,
  rows: number,
  inner?: Int8GemmInner,
): GpuTensor {
  const { source, weight, bias, output } = tensors;
  const columns = weight.shape[1]!;
  const variant = int8GemmVariant(runtime, weight, bias !== undefined, inner);
  const activations = quantizeActivationsOnDevice(runtime, source, rows, columns, variant.type === 'Q4_K');
  const shader = { key: int8GemmKey(variant), code: () => int8GemmWgsl(variant), storage: INT8_GEMM_STORAGE };
  try {
    dispatchInt8Gemm(runtime, shader, variant, tensors, activations, rows);
  } finally {
    runtime.release(activations.quants);
    runtime.release(activations.scales);
    if (activations.sums !== undefined) runtime.release(activations.sums);
  }
  return output;
}
