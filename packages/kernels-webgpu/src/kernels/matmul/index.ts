import { StrataError, type Tensor, type WeightTensor } from '@strata/core';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { MAX_WORKGROUPS_PER_DIMENSION } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import type { GpuWeight } from '../../weights/gpu-weight.js';
import { weightShader } from '../../wgsl/dequantize/index.js';
import { singleRowKernel } from './decode-kernels.js';
import {
  DEFAULT_MATVEC_TUNING,
  MATVEC_STORAGE,
  MAX_GROUPED_MATVEC_ROWS,
  type MatvecVariant,
  matvecKey,
  matvecRowsPerWorkgroup,
  matvecUniforms,
  matvecWgsl,
} from './matvec-shader.js';
import { int8Matmul } from './int8/int8-matmul.js';
import { matvecChunks } from './matvec-chunks.js';
import { multiRowMatvec, multiRowMatvecTakes } from './multi-row-matvec.js';
import { isInt8WeightType } from './int8/int8-weight-blocks.js';
import {
  DEFAULT_TILES,
  TILED_STORAGE,
  type TiledTuning,
  type TiledVariant,
  tiledKey,
  tiledUniforms,
  tiledWgsl,
} from './tiled-shader.js';

function shapeError(message: string, details: Record<string, unknown>): StrataError {
  return new StrataError('SHAPE_MISMATCH', message, { details });
}

/** A matrix weight `[out, columns]` (or `[experts, out, columns]` when `experts`), checked. */
export function matrixWeight(runtime: GpuRuntime, value: WeightTensor, dimensions: 2 | 3): GpuWeight {
  const weight = runtime.weight(value, 'weight');
  if (weight.shape.length !== dimensions) {
    throw shapeError(
      `Weight ${weight.name} must have ${dimensions} dimensions (${dimensions === 2 ? '[out, columns]' : '[experts, out, columns]'}), got [${weight.shape.join(', ')}].`,
      { weight: weight.name, shape: [...weight.shape] },
    );
  }
  weightShader(weight.storedType);
  return weight;
}

/** The input as `[rows, columns]` (leading dimensions flattened into rows), checked against the weight's columns. */
export function matrixInput(
  runtime: GpuRuntime,
  value: Tensor,
  columns: number,
  weight: GpuWeight,
): { tensor: GpuTensor; rows: number } {
  const tensor = runtime.tensor(value, 'f32', 'input');
  const last = tensor.shape[tensor.shape.length - 1];
  if (tensor.shape.length === 0 || last !== columns) {
    throw shapeError(
      `The input of a product with ${weight.name} [${weight.shape.join(', ')}] must be [rows, ${columns}], got [${tensor.shape.join(', ')}].`,
      { input: [...tensor.shape], weight: [...weight.shape] },
    );
  }
  return { tensor, rows: columns === 0 ? 0 : tensor.size / columns };
}

/**
 * `input` `[rows, columns]` × `weight` `[out, columns]`ᵀ (+ `bias` `[out]`): f32 `[rows, out]`. One row runs the
 * decode kernel (`singleRowKernel`); 2 to 8 rows the multi-row mat-vec, and with `tuning.batchMatvec` up to 32 rows
 * (a batched decode step) as row groups of at most 8 (`matvecGroupRows`); more rows the tiled mat-mul
 * (`DEFAULT_TILES`), or with `tuning.int8Prefill` and a Q8_0 or Q4_K weight 8-bit activations (`int8/int8-matmul.ts`).
 * `tiling` forces the tiled mat-mul with that tile shape for more than one row (tests, benchmarks).
 */
export function matmul(
  runtime: GpuRuntime,
  input: Tensor,
  weightValue: WeightTensor,
  biasValue?: WeightTensor,
  tiling?: TiledTuning,
): GpuTensor {
  const weight = matrixWeight(runtime, weightValue, 2);
  const [out, columns] = weight.shape as [number, number];
  const { tensor: source, rows } = matrixInput(runtime, input, columns, weight);
  let bias: GpuWeight | undefined;
  if (biasValue !== undefined) {
    bias = runtime.weight(biasValue, 'bias');
    if (bias.storedType !== 'F32' || bias.shape.length !== 1 || bias.shape[0] !== out) {
      throw shapeError(
        `The bias of ${weight.name} must be a float vector [${out}], got ${bias.type} [${bias.shape.join(', ')}].`,
        {
          bias: [...bias.shape],
          out,
        },
      );
    }
  }
  const output = runtime.allocate('f32', [...source.shape.slice(0, -1), out]);
  if (rows === 0) return output;
  const type = weight.storedType;
  const tensors = { weight, input: source, bias, output };
  const multiRow = multiRowMatvecTakes(runtime, rows, type, columns);
  if (rows === 1 && !multiRow) {
    return matvecChunks(runtime, singleRowKernel(runtime, type, columns, bias !== undefined), tensors);
  }
  if (multiRow && tiling === undefined) return multiRowMatvec(runtime, tensors, rows);
  if (runtime.tuning.int8Prefill && tiling === undefined && rows > MAX_GROUPED_MATVEC_ROWS && isInt8WeightType(type)) {
    return int8Matmul(runtime, { source, weight, bias, output }, rows);
  }
  const biasBinding = { tracked: bias === undefined ? runtime.emptyBuffer : bias.chunks[0]!.tracked };
  const tuning = tiling ?? DEFAULT_TILES;
  const variant: TiledVariant = { type, columns, bias: bias !== undefined, tuning };
  const shader = { key: tiledKey(variant), code: () => tiledWgsl(variant), storage: TILED_STORAGE };
  for (const chunk of weight.chunks) {
    const tilesOut = Math.ceil(chunk.rows / tuning.out);
    const tilesRows = Math.ceil(rows / tuning.rows);
    if (tilesOut > MAX_WORKGROUPS_PER_DIMENSION || tilesRows > MAX_WORKGROUPS_PER_DIMENSION) {
      throw shapeError(
        `A product of ${rows} rows with ${chunk.rows} weight rows exceeds one dispatch; process fewer rows.`,
        {
          rows,
          out,
        },
      );
    }
    runtime.dispatch({
      shader,
      uniforms: tiledUniforms(columns, weight.rowBytes, rows, chunk.rows, chunk.firstRow, out),
      buffers: [{ tracked: chunk.tracked }, { tracked: source.tracked }, biasBinding, { tracked: output.tracked }],
      workgroups: [tilesOut, tilesRows],
    });
  }
  return output;
}

/**
 * Mixture-of-experts product (see `Backend.matmulExperts`): `weight` `[experts, out, columns]`, `experts` i32
 * `[rows, topK]`, `input` `[rows, columns]` or `[rows · topK, columns]`: f32 `[rows · topK, out]`. Each slot is a
 * mat-vec over its expert's rows; expert ids outside `[0, experts)` are clamped to 0.
 */
export function matmulExperts(
  runtime: GpuRuntime,
  input: Tensor,
  weightValue: WeightTensor,
  expertsValue: Tensor,
): GpuTensor {
  const weight = matrixWeight(runtime, weightValue, 3);
  const [expertCount, out, columns] = weight.shape as [number, number, number];
  const { tensor: source, rows: inputRows } = matrixInput(runtime, input, columns, weight);
  const experts = runtime.tensor(expertsValue, 'i32', 'expert ids');
  if (experts.shape.length !== 2) {
    throw shapeError(`Expert ids must be [rows, topK], got [${experts.shape.join(', ')}].`, {
      experts: [...experts.shape],
    });
  }
  const [rows, topK] = experts.shape as [number, number];
  const slots = rows * topK;
  if (inputRows !== rows && inputRows !== slots) {
    throw shapeError(
      `The input of ${weight.name} must have ${rows} or ${slots} rows (rows or rows · topK), got ${inputRows}.`,
      {
        input: [...source.shape],
        experts: [...experts.shape],
      },
    );
  }
  void expertCount;
  const output = runtime.allocate('f32', [slots, out]);
  if (slots === 0) return output;
  const type = weight.storedType;
  const variant: MatvecVariant = {
    type,
    columns,
    inputRows: 1,
    mode: 'experts',
    bias: false,
    subgroups: runtime.features.subgroups,
    tuning: DEFAULT_MATVEC_TUNING,
  };
  const shader = { key: matvecKey(variant), code: () => matvecWgsl(variant), storage: MATVEC_STORAGE };
  const units = Math.ceil(columns / weightShader(type).unitColumns);
  const groupsOut = Math.ceil(out / matvecRowsPerWorkgroup(DEFAULT_MATVEC_TUNING));
  if (groupsOut > MAX_WORKGROUPS_PER_DIMENSION) {
    throw shapeError(`Expert matrices of ${out} rows exceed one dispatch.`, { out });
  }
  const perSlotInput = inputRows === slots ? 1 : 0;
  for (const chunk of weight.chunks) {
    for (let slotOffset = 0; slotOffset < slots; slotOffset += MAX_WORKGROUPS_PER_DIMENSION) {
      const count = Math.min(MAX_WORKGROUPS_PER_DIMENSION, slots - slotOffset);
      runtime.dispatch({
        shader,
        uniforms: matvecUniforms({
          columns,
          rowBytes: weight.rowBytes,
          units,
          chunkRows: chunk.rows,
          firstRow: chunk.firstRow,
          outStride: out,
          outRows: out,
          topK,
          slots: count,
          slotOffset,
          perSlotInput,
        }),
        buffers: [
          { tracked: chunk.tracked },
          { tracked: source.tracked },
          { tracked: experts.tracked },
          { tracked: output.tracked },
        ],
        workgroups: [groupsOut, count],
      });
    }
  }
  return output;
}
