import { StrataError, type Tensor, type WeightTensor, type WeightType } from '@strata/core';
import type { BufferBinding } from '../../runtime/recorder.js';
import type { GpuRuntime } from '../../runtime/runtime.js';
import { linearGrid, MAX_WORKGROUPS_PER_DIMENSION, type ShaderSpec, type StorageAccess } from '../../runtime/shader.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import type { GpuWeight } from '../../weights/gpu-weight.js';
import { weightShader } from '../../wgsl/dequantize/index.js';
import {
  type FusionParams,
  fusionStorage,
  fusionUniforms,
  isFused,
  type MatvecFusion,
  NO_FUSION,
} from './matvec-fusion.js';
import {
  DEFAULT_QUANT_TUNING,
  Q4K_MATVEC_TUNING,
  type QuantMatvecTuning,
  type QuantMatvecVariant,
  quantMatvecFusable,
  quantMatvecKey,
  quantMatvecRowsPerWorkgroup,
  quantMatvecSupported,
  quantMatvecWgsl,
} from './quant-matvec-shader.js';
import { DEFAULT_WIDE_TUNING, type WideMatvecVariant, wideMatvecKey, wideMatvecWgsl } from './wide-matvec-shader.js';
import {
  DEFAULT_MATVEC_TUNING,
  MATVEC_STORAGE,
  MAX_GROUPED_MATVEC_ROWS,
  MAX_MATVEC_ROWS,
  type MatvecVariant,
  matvecGroupRows,
  matvecKey,
  matvecRowsPerWorkgroup,
  matvecUniforms,
  matvecWgsl,
} from './matvec-shader.js';
import { int8Matmul } from './int8/int8-matmul.js';
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

/** A mat-vec kernel as {@link matvecChunks} records it: its shader, units per weight row and output rows per workgroup. */
export interface MatvecKernel {
  /** The shader (storage: the mat-vec's four bindings, then the fusion's). */
  readonly shader: ShaderSpec;
  /** The `units` uniform. */
  readonly units: number;
  /** Output rows one workgroup computes. */
  readonly rowsPerWorkgroup: number;
  /**
   * The multi-row kernel only: input rows of the product (the `slots` uniform) and row groups (workgroup z); one
   * group when absent.
   */
  readonly inputRows?: { readonly rows: number; readonly groups: number };
}

/** The tuning of the specialised one-row kernel `matmul` routes `type` to, or undefined (the wide kernel). */
function routedQuantTuning(runtime: GpuRuntime, type: WeightType): QuantMatvecTuning | undefined {
  if (type !== 'Q4_K' && type !== 'Q6_K' && type !== 'Q8_0') return undefined;
  const chosen = runtime.tuning.quantMatvec[type];
  if (chosen !== undefined) return chosen;
  if (type === 'Q4_K') return Q4K_MATVEC_TUNING;
  return type === 'Q6_K' ? DEFAULT_QUANT_TUNING : undefined;
}

/**
 * The decode mat-vec for a weight of `type` and `columns`: the specialised Q4_K (`Q4K_MATVEC_TUNING`) or Q6_K kernel
 * where it applies (or the one a backend's `tuning.quantMatvec` names), else the wide one; `fusion` adds the RMS norm
 * (in the same pass) and a store epilogue to either (`matvec-fusion.ts`).
 */
export function singleRowKernel(
  runtime: GpuRuntime,
  type: WeightType,
  columns: number,
  bias: boolean,
  fusion: MatvecFusion = NO_FUSION,
): MatvecKernel {
  const storage = [...MATVEC_STORAGE, ...fusionStorage(fusion)];
  const tuning = routedQuantTuning(runtime, type);
  if (
    tuning !== undefined &&
    quantMatvecSupported(type, columns) &&
    (!isFused(fusion) || quantMatvecFusable(type, tuning))
  ) {
    const variant: QuantMatvecVariant = {
      type,
      columns,
      bias,
      subgroups: runtime.features.subgroups,
      tuning,
      fusion,
    };
    const shader = { key: quantMatvecKey(variant), code: () => quantMatvecWgsl(variant), storage };
    return { shader, units: 0, rowsPerWorkgroup: quantMatvecRowsPerWorkgroup(variant) };
  }
  const variant: WideMatvecVariant = {
    type,
    columns,
    bias,
    subgroups: runtime.features.subgroups,
    tuning: DEFAULT_WIDE_TUNING,
    fusion,
  };
  const shader = { key: wideMatvecKey(variant), code: () => wideMatvecWgsl(variant), storage };
  const units = Math.ceil(columns / weightShader(type).unitColumns);
  return { shader, units, rowsPerWorkgroup: DEFAULT_WIDE_TUNING.rowsPerWorkgroup };
}

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

/** What a fused kernel adds to the dispatches of {@link matvecChunks} (`fused-matvec.ts`). */
export interface MatvecChunkFusion {
  /** The fusion the kernel was built with: its uniforms follow the plain ones ({@link fusionUniforms}). */
  readonly fusion: MatvecFusion;
  /** The values of those uniforms. */
  readonly params: FusionParams;
  /** The fusion's bindings after the four of the mat-vec, in `matvec-fusion.ts` order. */
  readonly buffers: readonly BufferBinding[];
}

/**
 * Records a mat-vec `kernel` (the three take the same uniforms and bindings) once per chunk of `weight`: bindings
 * weights (the chunk), input, bias (or an empty buffer), `output` `[rows, out]`, then `fused.buffers`;
 * `ceil(chunk rows / rowsPerWorkgroup)` workgroups. Returns `output`.
 */
export function matvecChunks(
  runtime: GpuRuntime,
  kernel: MatvecKernel,
  tensors: { weight: GpuWeight; input: GpuTensor; bias: GpuWeight | undefined; output: GpuTensor },
  fused?: MatvecChunkFusion,
): GpuTensor {
  const { weight, input, bias, output } = tensors;
  const [out, columns] = weight.shape as [number, number];
  const biasBinding = { tracked: bias === undefined ? runtime.emptyBuffer : bias.chunks[0]!.tracked };
  for (const chunk of weight.chunks) {
    const words = matvecUniforms({
      columns,
      rowBytes: weight.rowBytes,
      units: kernel.units,
      chunkRows: chunk.rows,
      firstRow: chunk.firstRow,
      outStride: out,
      outRows: out,
      topK: 1,
      slots: kernel.inputRows?.rows ?? 0,
      slotOffset: 0,
      perSlotInput: 0,
    });
    runtime.dispatch({
      shader: kernel.shader,
      uniforms: fused === undefined ? words : fusionUniforms(fused.fusion, words, fused.params),
      buffers: [
        { tracked: chunk.tracked },
        { tracked: input.tracked },
        biasBinding,
        { tracked: output.tracked },
        ...(fused?.buffers ?? []),
      ],
      workgroups: [...linearGrid(Math.ceil(chunk.rows / kernel.rowsPerWorkgroup)), kernel.inputRows?.groups ?? 1],
    });
  }
  return output;
}

/** Most input rows a product runs on the multi-row mat-vec: 32 with `tuning.batchMatvec` (row groups), else 8. */
export function multiRowMatvecLimit(runtime: GpuRuntime): number {
  return runtime.tuning.batchMatvec ? MAX_GROUPED_MATVEC_ROWS : MAX_MATVEC_ROWS;
}

/**
 * How {@link multiRowMatvec} stores its rows: plain, with a residual of the output's shape added, or split by weight
 * rows into `[rows, width]` tensors (`widths` adds up to the weight's rows; `output` gets the first part).
 */
export type MultiRowStore =
  | { readonly kind: 'plain' }
  | { readonly kind: 'residual'; readonly residual: GpuTensor }
  | { readonly kind: 'split'; readonly widths: readonly number[]; readonly outputs: readonly GpuTensor[] };

/** The RMS norm {@link multiRowMatvec} applies to its input rows: the gain vector (ones without a weight) and ε. */
export interface MultiRowNorm {
  /** The `[columns]` gain. */
  readonly gain: BufferBinding;
  /** ε. */
  readonly epsilon: number;
}

/**
 * The product of 2 to {@link multiRowMatvecLimit} rows on the multi-row mat-vec, in row groups of at most 8
 * (`matvecGroupRows`, workgroup z), of the input rows RMS-normed in the same pass when `norm` is given, stored as
 * `store` says. Returns `output`.
 */
export function multiRowMatvec(
  runtime: GpuRuntime,
  tensors: { weight: GpuWeight; input: GpuTensor; bias: GpuWeight | undefined; output: GpuTensor },
  rows: number,
  store: MultiRowStore = { kind: 'plain' },
  norm?: MultiRowNorm,
): GpuTensor {
  const { weight, bias } = tensors;
  const type = weight.storedType;
  const columns = weight.shape[1]!;
  const groupRows = matvecGroupRows(rows);
  const split = store.kind === 'split' && store.widths.length > 1 ? store : undefined;
  const variant: MatvecVariant = {
    type,
    columns,
    inputRows: groupRows,
    mode: 'matmul',
    bias: bias !== undefined,
    ...(store.kind === 'residual' ? { store: 'residual' } : {}),
    ...(split === undefined ? {} : { store: split.widths.length === 3 ? 'split3' : 'split2' }),
    ...(norm === undefined ? {} : { norm: true }),
    subgroups: runtime.features.subgroups,
    tuning: DEFAULT_MATVEC_TUNING,
  };
  const stored: BufferBinding[] =
    store.kind === 'residual'
      ? [{ tracked: store.residual.tracked }]
      : (split?.outputs.slice(1).map((output) => ({ tracked: output.tracked })) ?? []);
  const storedAccess: StorageAccess = store.kind === 'residual' ? 'read' : 'write';
  const storage: StorageAccess[] = [
    ...MATVEC_STORAGE,
    ...(norm === undefined ? [] : ['read' as const]),
    ...stored.map(() => storedAccess),
  ];
  const shader = { key: matvecKey(variant), code: () => matvecWgsl(variant), storage };
  const units = Math.ceil(columns / weightShader(type).unitColumns);
  const rowsPerWorkgroup = matvecRowsPerWorkgroup(DEFAULT_MATVEC_TUNING);
  const inputRows = { rows, groups: Math.ceil(rows / groupRows) };
  // The norm's ε and a split's boundaries travel in the fused kernels' extra uniforms (`fusionUniforms`).
  const fusion: MatvecFusion = {
    norm: norm !== undefined,
    epilogue: split === undefined ? { kind: 'store' } : { kind: 'split', parts: split.widths.length as 2 | 3 },
  };
  const boundary1 = split?.widths[0] ?? 0;
  const params = { epsilon: norm?.epsilon ?? 0, boundary1, boundary2: boundary1 + (split?.widths[1] ?? 0) };
  const buffers = [...(norm === undefined ? [] : [norm.gain]), ...stored];
  const fused = buffers.length === 0 ? undefined : { fusion, params, buffers };
  return matvecChunks(runtime, { shader, units, rowsPerWorkgroup, inputRows }, tensors, fused);
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
  if (rows === 1) return matvecChunks(runtime, singleRowKernel(runtime, type, columns, bias !== undefined), tensors);
  if (rows <= multiRowMatvecLimit(runtime) && tiling === undefined) return multiRowMatvec(runtime, tensors, rows);
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
