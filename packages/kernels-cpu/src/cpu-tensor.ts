import { type DType, StrataError, type Tensor, type WeightTensor, type WeightType, elementCount } from '@strata/core';

/** The name every CPU tensor carries. */
export const CPU_BACKEND_NAME = 'cpu';

/** The typed arrays a CPU tensor's storage can be: f32, i32, f16 bit patterns or q8_0 bytes. */
export type CpuData = Float32Array | Int32Array | Uint16Array | Uint8Array;

/** The dtype of a CPU tensor over `data`: by the kind of typed array. */
function dtypeOf(data: CpuData): DType {
  if (data instanceof Int32Array) return 'i32';
  if (data instanceof Uint16Array) return 'f16';
  if (data instanceof Uint8Array) return 'q8_0';
  return 'f32';
}

/**
 * Host storage shared by a tensor and its reshaped views. Each of them is disposed on its own; the storage is handed
 * back once all of them are (as the WebGPU backend's pooled buffers).
 */
export interface CpuStorage {
  /**
   * The elements, row-major: f32, i32, the half-precision bit patterns of an f16 KV cache tensor (Uint16Array), or the
   * bytes of a q8_0 KV cache tensor (layout: `q8Layout`).
   */
  readonly data: CpuData;
  /** Tensors (the original and its views) over this storage not disposed yet. */
  references: number;
  /** Set once the storage was handed back (every tensor over it disposed). */
  disposed: boolean;
}

/** A tensor of the CPU backend: plain typed-array storage. */
export class CpuTensor implements Tensor {
  /** Always `'cpu'` ({@link CPU_BACKEND_NAME}); other backends reject the tensor by this name. */
  readonly backendName = CPU_BACKEND_NAME;
  /**
   * `'i32'` when the storage is an Int32Array, `'f16'` when it is a Uint16Array (an f16 KV cache), `'q8_0'` when it is
   * bytes (a q8_0 KV cache), otherwise `'f32'`.
   */
  readonly dtype: DType;
  /** Row-major shape in elements (frozen); its product equals the storage length. */
  readonly shape: readonly number[];
  /** Storage, possibly shared with views made by `reshape`. */
  readonly storage: CpuStorage;

  /** Set once this tensor (this view of the storage) was disposed. */
  disposed = false;

  constructor(storage: CpuStorage, shape: readonly number[]) {
    this.storage = storage;
    storage.references++;
    this.dtype = dtypeOf(storage.data);
    this.shape = Object.freeze([...shape]);
  }
}

/** A weight of the CPU backend: its file bytes, plus an f32 copy for vectors (norm weights, biases). */
export class CpuWeight implements WeightTensor {
  /** Always `'cpu'` ({@link CPU_BACKEND_NAME}). */
  readonly backendName = CPU_BACKEND_NAME;
  /** The ggml storage format of {@link CpuWeight.bytes}. */
  readonly type: WeightType;
  /** Logical row-major shape in elements (frozen): `[rows, columns]`, `[experts, rows, columns]` or `[length]`. */
  readonly shape: readonly number[];
  /** The descriptor's name, for error messages. */
  readonly name: string;
  /** The bytes in the file's block format (4-byte aligned, so F32 rows are zero-copy views). */
  bytes: Uint8Array;
  /** Decoded elements of a 1-D weight; matrices are decoded row by row inside the kernels instead. */
  vector: Float32Array | undefined;
  /** Set once the weight was handed back. */
  disposed = false;

  constructor(name: string, type: WeightType, shape: readonly number[], bytes: Uint8Array, vector?: Float32Array) {
    this.name = name;
    this.type = type;
    this.shape = Object.freeze([...shape]);
    this.bytes = bytes;
    this.vector = vector;
  }
}

/** Throws `SHAPE_MISMATCH` with `message` unless `condition` holds. */
export function expectShape(condition: boolean, message: string, details?: Record<string, unknown>): void {
  if (!condition) {
    throw new StrataError('SHAPE_MISMATCH', message, details === undefined ? {} : { details });
  }
}

/** Checks that `tensor` is a live CPU tensor of the wanted dtype; returns it narrowed. */
export function cpuTensor(tensor: Tensor, operation: string, dtype: DType | 'any' = 'f32'): CpuTensor {
  if (!(tensor instanceof CpuTensor)) {
    throw new StrataError(
      'BACKEND_MISMATCH',
      `${operation} on the cpu backend got a tensor of the '${tensor?.backendName}' backend; read it back and upload it to the cpu backend first.`,
      { details: { operation, backendName: tensor?.backendName } },
    );
  }
  if (tensor.disposed || tensor.storage.disposed) {
    throw new StrataError(
      'TENSOR_DISPOSED',
      `${operation} got a tensor that was disposed; keep tensors alive while ops use them.`,
      {
        details: { operation },
      },
    );
  }
  if (dtype !== 'any' && tensor.dtype !== dtype) {
    throw new StrataError('DTYPE_MISMATCH', `${operation} needs an ${dtype} tensor, got ${tensor.dtype}.`, {
      details: { operation, dtype: tensor.dtype },
    });
  }
  return tensor;
}

/** Checks that `weight` is a live CPU weight; returns it narrowed. */
export function cpuWeight(weight: WeightTensor, operation: string): CpuWeight {
  if (!(weight instanceof CpuWeight)) {
    throw new StrataError(
      'BACKEND_MISMATCH',
      `${operation} on the cpu backend got a weight of the '${weight?.backendName}' backend; upload it with the cpu backend's uploadWeight.`,
      { details: { operation, backendName: weight?.backendName } },
    );
  }
  if (weight.disposed) {
    throw new StrataError('TENSOR_DISPOSED', `${operation} got weight '${weight.name}' after it was disposed.`, {
      details: { operation, name: weight.name },
    });
  }
  return weight;
}

/** f32 data of a live CPU tensor. */
export function floatData(tensor: Tensor, operation: string): Float32Array {
  return cpuTensor(tensor, operation, 'f32').storage.data as Float32Array;
}

/** i32 data of a live CPU tensor. */
export function intData(tensor: Tensor, operation: string): Int32Array {
  return cpuTensor(tensor, operation, 'i32').storage.data as Int32Array;
}

/** A new tensor owning `data` (halves: an f16 tensor; bytes: a q8_0 tensor). */
export function fromData(data: CpuData, shape: readonly number[]): CpuTensor {
  return new CpuTensor({ data, references: 0, disposed: false }, shape);
}

/** Rows and columns of a tensor seen as a matrix: the last dimension is the columns, the others multiply to rows. */
export function matrixShape(shape: readonly number[]): { rows: number; columns: number } {
  if (shape.length === 0) return { rows: 1, columns: 1 };
  const columns = shape[shape.length - 1]!;
  return { rows: columns === 0 ? 0 : elementCount(shape) / columns, columns };
}

/** The decoded elements of a 1-D weight of `length` elements. */
export function vectorData(weight: WeightTensor, length: number, operation: string): Float32Array {
  const cpu = cpuWeight(weight, operation);
  expectShape(
    cpu.vector !== undefined && cpu.vector.length === length,
    `${operation} needs a weight vector of ${length} elements; '${cpu.name}' has shape [${cpu.shape.join(', ')}].`,
    { name: cpu.name, shape: cpu.shape, length },
  );
  return cpu.vector!;
}
