import {
  type ActivationKind,
  type AttentionOptions,
  type Backend,
  type DType,
  type ExpertRouting,
  type ExpertRoutingOptions,
  type InputNorm,
  type KeyValueCache,
  type KeyValuePrecision,
  type PagedAttentionOptions,
  type PagedBatch,
  type PagedKeyValueCache,
  type Projection,
  type RopeParameters,
  type SamplingParameters,
  type StepBody,
  type StepInputShapes,
  type StepPlan,
  type PoolSequencesOptions,
  type SelfAttentionOptions,
  StrataError,
  checkPagedPoolSize,
  createEagerStepPlan,
  type Tensor,
  type WeightBytes,
  type WeightDescriptor,
  type WeightTensor,
  elementCount,
  isWeightType,
} from '@strata/core';
import { CPU_BACKEND_NAME, CpuTensor, CpuWeight, cpuTensor, expectShape, fromData, matrixShape } from './cpu-tensor.js';
import { attention, rope, writeKeyValues } from './ops/attention.js';
import { pagedAttention, ropeAndWritePagedKeyValues, writePagedKeyValues } from './ops/paged-attention.js';
import { activation, add, gatedActivation, mul, scale, softcap } from './ops/elementwise.js';
import { matmulAdd, rmsNormGatedMatmul, rmsNormMatmul } from './ops/fused.js';
import { embedding, matmul, matmulExperts } from './ops/linear.js';
import { layerNorm, rmsNorm, softmax } from './ops/normalization.js';
import { argmax, combineExperts, routeExperts } from './ops/routing.js';
import { sampleToken } from './ops/sampling.js';
import { l2Normalize, poolSequences, selfAttention } from './ops/sequences.js';
import { blockGeometry, dequantize } from './quant/dequantize.js';
import { halvesToFloats } from './quant/half.js';
import { dequantizeQ8Rows, q8Layout } from './quant/q8-cache.js';

function isValidShape(shape: readonly number[]): boolean {
  return Array.isArray(shape) && shape.every((size) => Number.isSafeInteger(size) && size >= 0);
}

async function collectBytes(bytes: WeightBytes, expected: number): Promise<Uint8Array> {
  // A fresh, 4-byte aligned copy: the caller may reuse its buffer, and F32 rows become zero-copy views.
  const storage = new Uint8Array(new ArrayBuffer(Math.ceil(expected / 4) * 4), 0, expected);
  let written = 0;
  const append = (chunk: Uint8Array): void => {
    if (written + chunk.length > expected) {
      throw new StrataError('SHAPE_MISMATCH', `Weight bytes exceed the ${expected} bytes its type and shape need.`, {
        details: { expected },
      });
    }
    storage.set(chunk, written);
    written += chunk.length;
  };
  if (bytes instanceof Uint8Array) append(bytes);
  else for await (const chunk of bytes) append(chunk);
  if (written !== expected) {
    throw new StrataError(
      'TRUNCATED_FILE',
      `Weight bytes end after ${written} of the ${expected} bytes its type and shape need.`,
      {
        details: { expected, written },
      },
    );
  }
  return storage;
}

/**
 * Throws `DTYPE_MISMATCH` when `tensor` is a KV cache tensor of one of the storage types `refused`, which `operation`
 * cannot take (q8_0 bytes are laid out by rows; f16 halves are storage only).
 */
function rejectCacheStorage(tensor: CpuTensor, operation: string, refused: readonly DType[]): void {
  if (refused.includes(tensor.dtype)) {
    throw new StrataError(
      'DTYPE_MISMATCH',
      `${operation} cannot take a ${tensor.dtype} KV cache tensor; read it (f32) or slice its rows instead.`,
      { details: { operation, dtype: tensor.dtype } },
    );
  }
}

/** The f32 values of rows `[start, start + count)` of a KV cache tensor's storage: f16 halves or q8_0 bytes. */
function decodeCacheRows(data: Uint16Array | Uint8Array, rows: number, columns: number, start: number, count: number) {
  if (data instanceof Uint16Array) return halvesToFloats(data, start * columns, count * columns);
  return dequantizeQ8Rows(data, q8Layout(rows, columns), start, count);
}

/** The reference backend: plain TypeScript over typed arrays, f32 results with f64 accumulation. */
class CpuBackend implements Backend {
  readonly name = CPU_BACKEND_NAME;
  /** {@link Backend.defersWork}: every op computes before it returns. */
  readonly defersWork = false;

  async uploadWeight(descriptor: WeightDescriptor, bytes: WeightBytes): Promise<WeightTensor> {
    const { name, type, shape } = descriptor;
    if (!isWeightType(type)) blockGeometry(type);
    expectShape(
      isValidShape(shape) && shape.length >= 1 && shape.length <= 3,
      `Weight '${name}' has shape [${shape.join(', ')}]; weights are vectors, matrices or expert stacks of non-negative sizes.`,
      { name, shape },
    );
    const { blockSize, bytesPerBlock } = blockGeometry(type);
    const columns = shape[shape.length - 1]!;
    if (columns % blockSize !== 0) {
      throw new StrataError(
        'INVALID_TENSOR_INFO',
        `Weight '${name}' rows of ${columns} elements are not a whole number of ${type} blocks of ${blockSize}.`,
        { details: { name, type, shape } },
      );
    }
    const count = elementCount(shape);
    const stored = await collectBytes(bytes, (count / blockSize) * bytesPerBlock);
    const vector = shape.length === 1 ? dequantize(type, stored, count) : undefined;
    return new CpuWeight(name, type, shape, stored, vector);
  }

  upload(data: Float32Array | Int32Array, shape: readonly number[]): Tensor {
    expectShape(
      isValidShape(shape) && elementCount(shape) === data.length,
      `upload: ${data.length} elements do not fill shape [${shape.join(', ')}].`,
    );
    if (!(data instanceof Float32Array || data instanceof Int32Array)) {
      throw new StrataError('DTYPE_MISMATCH', 'upload takes a Float32Array (f32) or an Int32Array (i32).');
    }
    return fromData(data.slice(), shape);
  }

  zeros(shape: readonly number[]): Tensor {
    expectShape(isValidShape(shape), `zeros: [${shape.join(', ')}] is not a shape.`);
    return fromData(new Float32Array(elementCount(shape)), shape);
  }

  createKeyValueCache(capacity: number, width: number, precision: KeyValuePrecision = 'f32'): KeyValueCache {
    expectShape(isValidShape([capacity, width]), `createKeyValueCache: [${capacity}, ${width}] is not a shape.`);
    if (precision === 'q8_0') {
      // Bytes laid out as the WebGPU backend's (quants, then each row's scales); written by quantizing.
      const layout = q8Layout(capacity, width);
      const make = () => fromData(new Uint8Array(layout.byteLength), [capacity, width]);
      return { keys: make(), values: make(), precision };
    }
    if (precision === 'f16') {
      // Halves (f16 bit patterns, half the bytes of f32): rounded to nearest even when written, decoded when read.
      const make = () => fromData(new Uint16Array(capacity * width), [capacity, width]);
      return { keys: make(), values: make(), precision };
    }
    return { keys: this.zeros([capacity, width]), values: this.zeros([capacity, width]) };
  }

  createPagedKeyValueCache(
    pages: number,
    pageSize: number,
    width: number,
    precision: KeyValuePrecision = 'f32',
  ): PagedKeyValueCache {
    checkPagedPoolSize(pages, pageSize);
    return { storage: this.createKeyValueCache(pages * pageSize, width, precision), pages, pageSize };
  }

  async read(tensor: Tensor): Promise<Float32Array | Int32Array> {
    const source = cpuTensor(tensor, 'read', 'any');
    const data = source.storage.data;
    if (data instanceof Uint16Array || data instanceof Uint8Array) {
      const { rows, columns } = matrixShape(source.shape);
      return decodeCacheRows(data, rows, columns, 0, rows);
    }
    return data.slice();
  }

  async flush(): Promise<void> {}

  dispose(tensor: Tensor | WeightTensor): void {
    if (tensor instanceof CpuTensor) {
      if (tensor.disposed) return;
      tensor.disposed = true;
      if (--tensor.storage.references === 0) tensor.storage.disposed = true;
    } else if (tensor instanceof CpuWeight) {
      tensor.disposed = true;
      tensor.bytes = new Uint8Array(0);
      tensor.vector = undefined;
    } else {
      throw new StrataError(
        'BACKEND_MISMATCH',
        `dispose on the cpu backend got a tensor of the '${tensor?.backendName}' backend.`,
      );
    }
  }

  reshape(tensor: Tensor, shape: readonly number[]): Tensor {
    const source = cpuTensor(tensor, 'reshape', 'any');
    rejectCacheStorage(source, 'reshape', ['q8_0']);
    expectShape(
      isValidShape(shape) && elementCount(shape) === source.storage.data.length,
      `reshape: [${tensor.shape.join(', ')}] has ${source.storage.data.length} elements; [${shape.join(', ')}] has ${elementCount(shape)}.`,
    );
    return new CpuTensor(source.storage, shape);
  }

  sliceRows(tensor: Tensor, start: number, count: number): Tensor {
    const source = cpuTensor(tensor, 'sliceRows', 'any');
    expectShape(tensor.shape.length === 2, `sliceRows needs a 2-D tensor; got [${tensor.shape.join(', ')}].`);
    const [rows, columns] = tensor.shape as [number, number];
    expectShape(
      Number.isInteger(start) && Number.isInteger(count) && start >= 0 && count >= 0 && start + count <= rows,
      `sliceRows: rows ${start}…${start + count - 1} are outside the ${rows} rows of the tensor.`,
    );
    const data = source.storage.data;
    if (data instanceof Uint16Array || data instanceof Uint8Array)
      return fromData(decodeCacheRows(data, rows, columns, start, count), [count, columns]);
    return fromData(data.slice(start * columns, (start + count) * columns), [count, columns]);
  }

  gatherRows(tensor: Tensor, rows: readonly number[]): Tensor {
    const source = cpuTensor(tensor, 'gatherRows', 'any');
    rejectCacheStorage(source, 'gatherRows', ['q8_0']);
    expectShape(tensor.shape.length === 2, `gatherRows needs a 2-D tensor; got [${tensor.shape.join(', ')}].`);
    const [count, columns] = tensor.shape as [number, number];
    const data = source.storage.data;
    const length = rows.length * columns;
    const gathered =
      data instanceof Int32Array
        ? new Int32Array(length)
        : data instanceof Uint16Array
          ? new Uint16Array(length)
          : new Float32Array(length);
    rows.forEach((row, index) => {
      expectShape(
        Number.isInteger(row) && row >= 0 && row < count,
        `gatherRows: row ${row} is outside the ${count} rows of the tensor.`,
      );
      gathered.set(data.subarray(row * columns, (row + 1) * columns), index * columns);
    });
    return fromData(gathered, [rows.length, columns]);
  }

  splitColumns(tensor: Tensor, widths: readonly number[]): Tensor[] {
    const source = cpuTensor(tensor, 'splitColumns', 'any');
    rejectCacheStorage(source, 'splitColumns', ['f16', 'q8_0']);
    const { rows, columns } = matrixShape(tensor.shape);
    expectShape(
      tensor.shape.length === 2 &&
        widths.every((width) => Number.isInteger(width) && width >= 0) &&
        widths.reduce((sum, width) => sum + width, 0) === columns,
      `splitColumns: widths ${widths.join(' + ')} must add up to the ${columns} columns of a 2-D tensor.`,
    );
    const data = source.storage.data;
    let offset = 0;
    return widths.map((width) => {
      const part = data instanceof Int32Array ? new Int32Array(rows * width) : new Float32Array(rows * width);
      for (let row = 0; row < rows; row++) {
        part.set(data.subarray(row * columns + offset, row * columns + offset + width), row * width);
      }
      offset += width;
      return fromData(part, [rows, width]);
    });
  }

  embedding(table: WeightTensor, ids: Tensor, scaleFactor?: number): Tensor {
    return embedding(table, ids, scaleFactor);
  }

  matmul(input: Tensor, weight: WeightTensor, bias?: WeightTensor): Tensor {
    return matmul(input, weight, bias);
  }

  /** The composition `rmsNorm` → `matmul` → `splitColumns` of this backend's ops (the reference of the fused op). */
  rmsNormMatmul(input: Tensor, norm: InputNorm | undefined, projections: readonly Projection[]): Tensor[] {
    return rmsNormMatmul(this, input, norm, projections);
  }

  /** The composition `rmsNorm` → `matmul` → `splitColumns` → `gatedActivation` of this backend's ops. */
  rmsNormGatedMatmul(input: Tensor, norm: InputNorm | undefined, weight: WeightTensor, kind: ActivationKind): Tensor {
    return rmsNormGatedMatmul(this, input, norm, weight, kind);
  }

  /** The composition `matmul` → `add` of this backend's ops. */
  matmulAdd(input: Tensor, weight: WeightTensor, residual: Tensor, bias?: WeightTensor): Tensor {
    return matmulAdd(this, input, weight, residual, bias);
  }

  matmulExperts(input: Tensor, weight: WeightTensor, experts: Tensor): Tensor {
    return matmulExperts(input, weight, experts);
  }

  add(a: Tensor, b: Tensor): Tensor {
    return add(a, b);
  }

  mul(a: Tensor, b: Tensor): Tensor {
    return mul(a, b);
  }

  scale(input: Tensor, factor: number): Tensor {
    return scale(input, factor);
  }

  activation(input: Tensor, kind: ActivationKind): Tensor {
    return activation(input, kind);
  }

  gatedActivation(gate: Tensor, up: Tensor, kind: ActivationKind): Tensor {
    return gatedActivation(gate, up, kind);
  }

  softcap(input: Tensor, cap: number): Tensor {
    return softcap(input, cap);
  }

  rmsNorm(input: Tensor, weight: WeightTensor | undefined, epsilon: number): Tensor {
    return rmsNorm(input, weight, epsilon);
  }

  layerNorm(input: Tensor, weight: WeightTensor | undefined, bias: WeightTensor | undefined, epsilon: number): Tensor {
    return layerNorm(input, weight, bias, epsilon);
  }

  softmax(input: Tensor): Tensor {
    return softmax(input);
  }

  rope(input: Tensor, firstPosition: number, parameters: RopeParameters): Tensor {
    return rope(input, firstPosition, parameters);
  }

  writeKeyValues(cache: KeyValueCache, keys: Tensor, values: Tensor, firstPosition: number): void {
    writeKeyValues(cache, keys, values, firstPosition);
  }

  ropeAndWriteKeyValues(
    queries: Tensor,
    keys: Tensor,
    values: Tensor,
    cache: KeyValueCache,
    firstPosition: number,
    parameters: RopeParameters,
  ): Tensor {
    const rotatedKeys = rope(keys, firstPosition, parameters);
    writeKeyValues(cache, rotatedKeys, values, firstPosition);
    return rope(queries, firstPosition, parameters);
  }

  attention(queries: Tensor, cache: KeyValueCache, options: AttentionOptions): Tensor {
    return attention(queries, cache, options);
  }

  writePagedKeyValues(cache: PagedKeyValueCache, keys: Tensor, values: Tensor, batch: PagedBatch): void {
    writePagedKeyValues(cache, keys, values, batch);
  }

  ropeAndWritePagedKeyValues(
    queries: Tensor,
    keys: Tensor,
    values: Tensor,
    cache: PagedKeyValueCache,
    batch: PagedBatch,
    parameters: RopeParameters,
  ): Tensor {
    return ropeAndWritePagedKeyValues(queries, keys, values, cache, batch, parameters);
  }

  pagedAttention(
    queries: Tensor,
    cache: PagedKeyValueCache,
    batch: PagedBatch,
    options: PagedAttentionOptions,
  ): Tensor {
    return pagedAttention(queries, cache, batch, options);
  }

  selfAttention(queries: Tensor, keys: Tensor, values: Tensor, options: SelfAttentionOptions): Tensor {
    return selfAttention(queries, keys, values, options);
  }

  poolSequences(hidden: Tensor, options: PoolSequencesOptions): Tensor {
    return poolSequences(hidden, options);
  }

  l2Normalize(input: Tensor, epsilon: number): Tensor {
    return l2Normalize(input, epsilon);
  }

  routeExperts(logits: Tensor, options: ExpertRoutingOptions): ExpertRouting {
    return routeExperts(logits, options);
  }

  combineExperts(slots: Tensor, weights: Tensor): Tensor {
    return combineExperts(slots, weights);
  }

  argmax(input: Tensor): Tensor {
    return argmax(input);
  }

  sampleToken(logits: Tensor, parameters: SamplingParameters): Tensor {
    return sampleToken(logits, parameters);
  }

  /** Ops run at once here, so a plan simply runs `body` for each step (see `createEagerStepPlan`). */
  captureStep(rows: number, body: StepBody, inputShapes?: StepInputShapes): StepPlan {
    return createEagerStepPlan(this, rows, body, inputShapes);
  }
}

/** Creates the CPU reference backend (name `cpu`). Tensors of any CPU backend instance work with every other. */
export function createCpuBackend(): Backend {
  return new CpuBackend();
}
