import type { DType, WeightType } from '../dtypes/dtype.js';

/**
 * A computed tensor (activations, ids, KV cache) owned by one backend. Opaque: only its backend reads its storage.
 * Shapes are row-major; most ops take 2-D `[rows, columns]` tensors.
 */
export interface Tensor {
  /** Name of the backend that owns the storage. */
  readonly backendName: string;
  /** Element type. */
  readonly dtype: DType;
  /** Row-major shape. */
  readonly shape: readonly number[];
}

/**
 * A weight resident on a backend in its file format (ggml block layout, or plain F32/F16/BF16 rows).
 * Matrices are `[rows, columns]` (`[out, in]`, each row a whole number of blocks); expert stacks `[experts, rows, columns]`;
 * vectors (norm weights, biases) `[length]`.
 */
export interface WeightTensor {
  /** Name of the backend that owns the storage. */
  readonly backendName: string;
  /** Storage format. */
  readonly type: WeightType;
  /** Logical row-major shape in elements. */
  readonly shape: readonly number[];
}

/** What a backend needs to know to receive a weight's bytes. */
export interface WeightDescriptor {
  /** A name for error messages and debugging (the file's tensor name). */
  readonly name: string;
  /** Storage format of the bytes. */
  readonly type: WeightType;
  /** Logical row-major shape in elements (see {@link WeightTensor}). */
  readonly shape: readonly number[];
}

/** Number of elements of a shape. */
export function elementCount(shape: readonly number[]): number {
  let count = 1;
  for (const size of shape) count *= size;
  return count;
}
