import { StrataError, type Tensor, type WeightTensor } from '@strata/core';
import {
  type CpuWeight,
  cpuWeight,
  expectShape,
  floatData,
  fromData,
  intData,
  matrixShape,
  vectorData,
} from '../cpu-tensor.js';
import { dequantizeInto, rowByteLength } from '../quant/dequantize.js';

/** Decodes weight rows one at a time into a reusable buffer (F32 rows are zero-copy views). */
class RowReader {
  private readonly buffer: Float32Array;
  private readonly rowBytes: number;
  private readonly aligned: boolean;

  constructor(
    private readonly weight: CpuWeight,
    private readonly columns: number,
  ) {
    this.buffer = new Float32Array(columns);
    this.rowBytes = rowByteLength(weight.type, columns);
    this.aligned = weight.type === 'F32' && weight.bytes.byteOffset % 4 === 0;
  }

  /** Row `index` (counted over all leading dimensions) as f32; valid until the next call. */
  row(index: number): Float32Array {
    const offset = index * this.rowBytes;
    if (this.aligned) {
      return new Float32Array(this.weight.bytes.buffer, this.weight.bytes.byteOffset + offset, this.columns);
    }
    dequantizeInto(this.weight.type, this.weight.bytes, offset, this.columns, this.buffer, 0);
    return this.buffer;
  }
}

/** Rows of `table` for `ids`, times `scale`. */
export function embedding(table: WeightTensor, ids: Tensor, scale = 1): Tensor {
  const weight = cpuWeight(table, 'embedding');
  const tokens = intData(ids, 'embedding');
  expectShape(
    weight.shape.length === 2,
    `embedding needs a 2-D table; '${weight.name}' is [${weight.shape.join(', ')}].`,
  );
  const [vocabulary, width] = weight.shape as [number, number];
  const reader = new RowReader(weight, width);
  const output = new Float32Array(tokens.length * width);
  for (let row = 0; row < tokens.length; row++) {
    const id = tokens[row]!;
    if (!(id >= 0 && id < vocabulary)) {
      throw new StrataError(
        'TOKEN_OUT_OF_RANGE',
        `embedding got token id ${id}; the table '${weight.name}' has ${vocabulary} rows.`,
        {
          details: { id, vocabulary },
        },
      );
    }
    const values = reader.row(id);
    const base = row * width;
    if (scale === 1) output.set(values, base);
    else for (let column = 0; column < width; column++) output[base + column] = values[column]! * scale;
  }
  return fromData(output, [tokens.length, width]);
}

/** Accumulates in f64: Σ left[leftOffset + i] · right[i] for i < length (four partial sums). */
function dot(left: Float32Array, leftOffset: number, right: Float32Array, length: number): number {
  let sum0 = 0;
  let sum1 = 0;
  let sum2 = 0;
  let sum3 = 0;
  let index = 0;
  for (; index + 3 < length; index += 4) {
    const base = leftOffset + index;
    sum0 += left[base]! * right[index]!;
    sum1 += left[base + 1]! * right[index + 1]!;
    sum2 += left[base + 2]! * right[index + 2]!;
    sum3 += left[base + 3]! * right[index + 3]!;
  }
  for (; index < length; index++) sum0 += left[leftOffset + index]! * right[index]!;
  return sum0 + sum1 + (sum2 + sum3);
}

/** Four dot products at once: rows `leftOffset + k·stride` (k < 4) of `left` with `right`, into `result` (`right` is read once). */
function dot4(left: Float32Array, leftOffset: number, stride: number, right: Float32Array, result: Float64Array): void {
  let sum0 = 0;
  let sum1 = 0;
  let sum2 = 0;
  let sum3 = 0;
  const length = stride;
  for (let index = 0; index < length; index++) {
    const weight = right[index]!;
    const base = leftOffset + index;
    sum0 += left[base]! * weight;
    sum1 += left[base + stride]! * weight;
    sum2 += left[base + 2 * stride]! * weight;
    sum3 += left[base + 3 * stride]! * weight;
  }
  result[0] = sum0;
  result[1] = sum1;
  result[2] = sum2;
  result[3] = sum3;
}

/** `input` `[rows, columns]` × `weight` `[out, columns]`ᵀ + `bias`. */
export function matmul(input: Tensor, weight: WeightTensor, bias?: WeightTensor): Tensor {
  const data = floatData(input, 'matmul');
  const matrix = cpuWeight(weight, 'matmul');
  const { rows, columns } = matrixShape(input.shape);
  expectShape(
    matrix.shape.length === 2 && matrix.shape[1] === columns,
    `matmul: input [${input.shape.join(', ')}] does not match weight '${matrix.name}' [${matrix.shape.join(', ')}] (needs [out, ${columns}]).`,
    { input: input.shape, weight: matrix.shape },
  );
  const outputs = matrix.shape[0]!;
  const biasValues = bias === undefined ? undefined : vectorData(bias, outputs, 'matmul bias');
  const reader = new RowReader(matrix, columns);
  const output = new Float32Array(rows * outputs);
  const products = new Float64Array(4);
  for (let outputIndex = 0; outputIndex < outputs; outputIndex++) {
    const weights = reader.row(outputIndex);
    const offset = biasValues === undefined ? 0 : biasValues[outputIndex]!;
    let row = 0;
    for (; row + 3 < rows; row += 4) {
      dot4(data, row * columns, columns, weights, products);
      for (let lane = 0; lane < 4; lane++) output[(row + lane) * outputs + outputIndex] = products[lane]! + offset;
    }
    for (; row < rows; row++) output[row * outputs + outputIndex] = dot(data, row * columns, weights, columns) + offset;
  }
  return fromData(output, [...input.shape.slice(0, -1), outputs]);
}

/** Mixture-of-experts product: row r·topK + s is input × expert `experts[r, s]` (see the Backend contract). */
export function matmulExperts(input: Tensor, weight: WeightTensor, experts: Tensor): Tensor {
  const data = floatData(input, 'matmulExperts');
  const stack = cpuWeight(weight, 'matmulExperts');
  const chosen = intData(experts, 'matmulExperts');
  expectShape(
    stack.shape.length === 3,
    `matmulExperts needs a weight [experts, out, columns]; '${stack.name}' is [${stack.shape.join(', ')}].`,
  );
  const [expertCount, outputs, columns] = stack.shape as [number, number, number];
  expectShape(
    experts.shape.length === 2,
    `matmulExperts needs experts [rows, topK]; got [${experts.shape.join(', ')}].`,
  );
  const [rows, topK] = experts.shape as [number, number];
  const input2d = matrixShape(input.shape);
  expectShape(
    input2d.columns === columns && (input2d.rows === rows || input2d.rows === rows * topK),
    `matmulExperts: input [${input.shape.join(', ')}] must be [${rows}, ${columns}] or [${rows * topK}, ${columns}] for weight [${stack.shape.join(', ')}] and experts [${rows}, ${topK}].`,
  );
  // With topK 1 both layouts coincide.
  const perSlot = input2d.rows === rows * topK;
  const reader = new RowReader(stack, columns);
  const output = new Float32Array(rows * topK * outputs);
  for (let slot = 0; slot < rows * topK; slot++) {
    const expert = chosen[slot]!;
    if (!(expert >= 0 && expert < expertCount)) {
      throw new StrataError(
        'INVALID_ARGUMENT',
        `matmulExperts got expert id ${expert}; '${stack.name}' has ${expertCount} experts.`,
        {
          details: { expert, expertCount },
        },
      );
    }
  }
  // Expert-major: decode each row of an expert once and apply it to every slot that chose the expert.
  const slotsOfExpert: number[][] = Array.from({ length: expertCount }, () => []);
  for (let slot = 0; slot < rows * topK; slot++) slotsOfExpert[chosen[slot]!]!.push(slot);
  for (let expert = 0; expert < expertCount; expert++) {
    const slots = slotsOfExpert[expert]!;
    if (slots.length === 0) continue;
    for (let outputIndex = 0; outputIndex < outputs; outputIndex++) {
      const weights = reader.row(expert * outputs + outputIndex);
      for (const slot of slots) {
        const inputRow = perSlot ? slot : Math.floor(slot / topK);
        output[slot * outputs + outputIndex] = dot(data, inputRow * columns, weights, columns);
      }
    }
  }
  return fromData(output, [rows * topK, outputs]);
}
