import {
  type ActivationKind,
  type InputNorm,
  type Projection,
  StrataError,
  type Tensor,
  type WeightTensor,
} from '@strata/core';
import type { BufferBinding } from '../../runtime/recorder.js';
import type { GpuRuntime } from '../../runtime/runtime.js';
import type { GpuTensor } from '../../tensor/gpu-tensor.js';
import type { GpuWeight } from '../../weights/gpu-weight.js';
import { binary } from '../elementwise/elementwise.js';
import { gatedHalves } from '../elementwise/gated-halves.js';
import { copyColumns } from '../layout/copy-columns.js';
import { rmsNorm } from '../normalization/norms.js';
import { singleRowKernel } from './decode-kernels.js';
import { matmul, matrixInput, matrixWeight } from './index.js';
import { type MatvecChunkFusion, matvecChunks } from './matvec-chunks.js';
import type { MatvecFusion } from './matvec-fusion.js';
import { type MultiRowNorm, multiRowMatvec, multiRowMatvecTakes } from './multi-row-matvec.js';

// The fused projection ops of the Backend contract (`rmsNormMatmul`, `rmsNormGatedMatmul`, `matmulAdd`). One input
// row (decode) runs the decode mat-vec kernels with the RMS norm in the same pass and a store epilogue
// (`matvec-fusion.ts`): one dispatch per projection. More rows run the plain ops one after another (the same numbers,
// more dispatches).

function shapeError(message: string, details: Record<string, unknown> = {}): StrataError {
  return new StrataError('SHAPE_MISMATCH', message, { details });
}

/** A float vector `[length]` weight (stored as f32), checked. */
function floatVector(runtime: GpuRuntime, value: WeightTensor, length: number, what: string): GpuWeight {
  const vector = runtime.weight(value, what);
  if (vector.storedType !== 'F32' || vector.shape.length !== 1 || vector.shape[0] !== length) {
    throw shapeError(
      `The ${what} ${vector.name} must be a float vector [${length}], got ${vector.type} [${vector.shape.join(', ')}].`,
      {
        what,
        shape: [...vector.shape],
        length,
      },
    );
  }
  return vector;
}

/** A projection's weight `[out, columns]`, bias and output widths, checked against the input's `columns`. */
interface CheckedProjection {
  readonly weight: GpuWeight;
  readonly bias: GpuWeight | undefined;
  readonly widths: readonly number[];
}

function checkProjection(runtime: GpuRuntime, projection: Projection, columns: number): CheckedProjection {
  const weight = matrixWeight(runtime, projection.weight, 2);
  const [out, weightColumns] = weight.shape as [number, number];
  if (weightColumns !== columns) {
    throw shapeError(
      `The input rows of ${columns} values do not match weight ${weight.name} [${weight.shape.join(', ')}].`,
      {
        columns,
        weight: [...weight.shape],
      },
    );
  }
  const widths = projection.widths ?? [out];
  if (
    widths.length === 0 ||
    widths.some((width) => !Number.isInteger(width) || width < 0) ||
    widths.reduce((sum, width) => sum + width, 0) !== out
  ) {
    throw shapeError(
      `Output widths ${widths.join(' + ')} must be non-negative integers adding up to the ${out} rows of ${weight.name}.`,
      {
        widths: [...widths],
        out,
      },
    );
  }
  const bias = projection.bias === undefined ? undefined : floatVector(runtime, projection.bias, out, 'bias');
  return { weight, bias, widths };
}

/** Vectors of ones by length: the gain a norm without weight binds (x · 1 is exactly x). */
const ONES = new Map<number, Float32Array>();

/** The norm a fused kernel computes: whether it has one, its gain binding and ε. */
function normFusion(
  runtime: GpuRuntime,
  norm: InputNorm | undefined,
  columns: number,
): { norm: boolean; gain: BufferBinding[]; epsilon: number } {
  if (norm === undefined) return { norm: false, gain: [], epsilon: 0 };
  if (norm.weight !== undefined) {
    const gain = floatVector(runtime, norm.weight, columns, 'norm weight');
    return { norm: true, gain: [{ tracked: gain.chunks[0]!.tracked }], epsilon: norm.epsilon };
  }
  let ones = ONES.get(columns);
  if (ones === undefined) {
    ones = new Float32Array(columns).fill(1);
    ONES.set(columns, ones);
  }
  return { norm: true, gain: [{ tracked: runtime.constant(ones) }], epsilon: norm.epsilon };
}

/** A norm fusion as the multi-row mat-vec takes it (undefined without a norm). */
function multiRowNorm(inputNorm: ReturnType<typeof normFusion>): MultiRowNorm | undefined {
  return inputNorm.norm ? { gain: inputNorm.gain[0]!, epsilon: inputNorm.epsilon } : undefined;
}

/**
 * Records the single-row kernel of `fused.fusion` once per chunk of the weight (`matvecChunks`): bindings weights,
 * input, bias, output, then `fused.buffers` (the fusion's own, in `matvec-fusion.ts` order).
 */
function dispatchFused(
  runtime: GpuRuntime,
  tensors: { weight: GpuWeight; input: GpuTensor; bias: GpuWeight | undefined; output: GpuTensor },
  fused: MatvecChunkFusion,
): void {
  const { weight, bias } = tensors;
  const kernel = singleRowKernel(runtime, weight.storedType, weight.shape[1]!, bias !== undefined, fused.fusion);
  matvecChunks(runtime, kernel, tensors, fused);
}

/** Columns `widths` of `product` `[…, out]` as tensors `[…, width]` (copies; `product` is released). */
function splitProduct(runtime: GpuRuntime, product: GpuTensor, widths: readonly number[]): GpuTensor[] {
  if (widths.length === 1) return [product];
  const leading = product.shape.slice(0, -1);
  const out = product.shape[product.shape.length - 1]!;
  const matrix = runtime.view(product, [out === 0 ? 0 : product.size / out, out]);
  runtime.release(product);
  let first = 0;
  const parts = widths.map((width) => {
    const part = copyColumns(runtime, matrix, first, width);
    first += width;
    if (leading.length === 1) return part;
    const shaped = runtime.view(part, [...leading, width]);
    runtime.release(part);
    return shaped;
  });
  runtime.release(matrix);
  return parts;
}

/**
 * `Backend.rmsNormMatmul`: one dispatch per projection (and weight chunk) for one input row and for 2–32 rows (a
 * batched decode step: the multi-row mat-vec with the norm in the same pass, storing the parts); else `rmsNorm`,
 * `matmul` and column copies.
 */
export function rmsNormMatmul(
  runtime: GpuRuntime,
  input: Tensor,
  norm: InputNorm | undefined,
  projections: readonly Projection[],
): GpuTensor[] {
  const source = runtime.tensor(input, 'f32', 'input');
  const columns = source.shape[source.shape.length - 1] ?? 0;
  const checked = projections.map((projection) => checkProjection(runtime, projection, columns));
  const rows = columns === 0 ? 0 : source.size / columns;
  const leading = source.shape.slice(0, -1);
  const inputNorm = normFusion(runtime, norm, columns);
  const fewParts = checked.every((projection) => projection.widths.length <= 3);
  const multiRow = checked.every(({ weight }) => multiRowMatvecTakes(runtime, rows, weight.storedType, columns));
  if (multiRow && fewParts) {
    // Several rows (a batched decode step): the multi-row mat-vec norms the rows in the same pass and stores each
    // projection's parts (no norm dispatch, no column copies).
    return checked.flatMap(({ weight, bias, widths }) => {
      const outputs = widths.map((width) => runtime.allocate('f32', [...leading, width]));
      const store = { kind: 'split', widths, outputs } as const;
      multiRowMatvec(
        runtime,
        { weight, input: source, bias, output: outputs[0]! },
        rows,
        store,
        multiRowNorm(inputNorm),
      );
      return outputs;
    });
  }
  const singleRow = rows === 1 && fewParts;
  if (!singleRow) {
    const normed = norm === undefined ? source : rmsNorm(runtime, source, norm.weight, norm.epsilon);
    const parts = checked.flatMap((projection) =>
      splitProduct(runtime, matmul(runtime, normed, projection.weight, projection.bias), projection.widths),
    );
    if (normed !== source) runtime.release(normed);
    return parts;
  }
  return checked.flatMap(({ weight, bias, widths }) => {
    if (!inputNorm.norm && widths.length === 1) return [matmul(runtime, source, weight, bias)];
    const outputs = widths.map((width) => runtime.allocate('f32', [...leading, width]));
    const fusion: MatvecFusion = {
      norm: inputNorm.norm,
      epilogue: widths.length === 1 ? { kind: 'store' } : { kind: 'split', parts: widths.length as 2 | 3 },
    };
    const params = { epsilon: inputNorm.epsilon, boundary1: widths[0]!, boundary2: widths[0]! + (widths[1] ?? 0) };
    const buffers = [...inputNorm.gain, ...outputs.slice(1).map((output) => ({ tracked: output.tracked }))];
    dispatchFused(runtime, { weight, input: source, bias, output: outputs[0]! }, { fusion, params, buffers });
    return outputs;
  });
}

/**
 * `Backend.rmsNormGatedMatmul`: one dispatch for one input row and for 2–32 rows (a batched decode step) when the
 * weight is one chunk (each workgroup computes gate and up rows of the same indices), else `rmsNormMatmul` and the
 * gated activation of the product's halves.
 */
export function rmsNormGatedMatmul(
  runtime: GpuRuntime,
  input: Tensor,
  norm: InputNorm | undefined,
  weightValue: WeightTensor,
  kind: ActivationKind,
): GpuTensor {
  const weight = matrixWeight(runtime, weightValue, 2);
  const [out, columns] = weight.shape as [number, number];
  if (out % 2 !== 0) {
    throw shapeError(
      `A gate/up weight holds gate rows then up rows; ${weight.name} has an odd number of rows (${out}).`,
      {
        out,
      },
    );
  }
  const half = out / 2;
  const source = runtime.tensor(input, 'f32', 'input');
  const { rows } = matrixInput(runtime, input, columns, weight);
  if (multiRowMatvecTakes(runtime, rows, weight.storedType, columns) && weight.chunks.length === 1) {
    // Several rows (a batched decode step): the multi-row mat-vec norms the rows and stores act(gate) · up.
    const output = runtime.allocate('f32', [...source.shape.slice(0, -1), half]);
    const store = { kind: 'gated', activation: kind } as const;
    const inputNorm = multiRowNorm(normFusion(runtime, norm, columns));
    return multiRowMatvec(runtime, { weight, input: source, bias: undefined, output }, rows, store, inputNorm);
  }
  const kernel = singleRowKernel(runtime, weight.storedType, columns, false);
  if (rows !== 1 || weight.chunks.length !== 1 || kernel.rowsPerWorkgroup % 2 !== 0) {
    const product = rmsNormMatmul(runtime, source, norm, [{ weight }])[0]!;
    const activated = gatedHalves(runtime, product, kind);
    runtime.release(product);
    return activated;
  }
  const inputNorm = normFusion(runtime, norm, columns);
  const fusion: MatvecFusion = { norm: inputNorm.norm, epilogue: { kind: 'gated', activation: kind } };
  const output = runtime.allocate('f32', [...source.shape.slice(0, -1), half]);
  const params = { epsilon: inputNorm.epsilon, boundary1: half, boundary2: out };
  // One chunk of `out` rows: ⌈out / rowsPerWorkgroup⌉ workgroups of rowsPerWorkgroup / 2 gate rows each.
  dispatchFused(
    runtime,
    { weight, input: source, bias: undefined, output },
    { fusion, params, buffers: inputNorm.gain },
  );
  return output;
}

/** `Backend.matmulAdd`: the residual added in the mat-vec's store for one input row, else `matmul` then `add`. */
export function matmulAdd(
  runtime: GpuRuntime,
  input: Tensor,
  weightValue: WeightTensor,
  residualValue: Tensor,
  biasValue?: WeightTensor,
): GpuTensor {
  const weight = matrixWeight(runtime, weightValue, 2);
  const [out, columns] = weight.shape as [number, number];
  const source = runtime.tensor(input, 'f32', 'input');
  const { rows } = matrixInput(runtime, input, columns, weight);
  const residual = runtime.tensor(residualValue, 'f32', 'residual');
  const shape = [...source.shape.slice(0, -1), out];
  if (residual.shape.length !== shape.length || residual.shape.some((size, index) => size !== shape[index])) {
    throw shapeError(
      `The residual [${residual.shape.join(', ')}] must have the product's shape [${shape.join(', ')}].`,
      {
        residual: [...residual.shape],
        shape,
      },
    );
  }
  const bias = biasValue === undefined ? undefined : floatVector(runtime, biasValue, out, 'bias');
  if (multiRowMatvecTakes(runtime, rows, weight.storedType, columns)) {
    // Several rows (a batched decode step): the residual added in the multi-row mat-vec's store.
    const output = runtime.allocate('f32', shape);
    return multiRowMatvec(runtime, { weight, input: source, bias, output }, rows, { kind: 'residual', residual });
  }
  if (rows !== 1) {
    const product = matmul(runtime, source, weight, biasValue);
    const sum = binary(runtime, residual, product, { kind: 'add' });
    runtime.release(product);
    return sum;
  }
  const output = runtime.allocate('f32', shape);
  const fusion: MatvecFusion = { norm: false, epilogue: { kind: 'residual' } };
  dispatchFused(
    runtime,
    { weight, input: source, bias, output },
    { fusion, params: { epsilon: 0, boundary1: 0, boundary2: 0 }, buffers: [{ tracked: residual.tracked }] },
  );
  return output;
}
