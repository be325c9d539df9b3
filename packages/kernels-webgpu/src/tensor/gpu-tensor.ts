import { type DType, elementCount, StrataError, storageBytes, type Tensor } from '@strata/core';
import type { TrackedBuffer } from '../runtime/buffer-pool.js';

/** Name every WebGPU tensor and weight carries. */
export const BACKEND_NAME = 'webgpu';

/** A pooled buffer shared by a tensor and its reshaped views; returned to the pool when the last one is disposed. */
export class GpuStorage {
  private references = 1;

  constructor(
    readonly tracked: TrackedBuffer,
    private readonly onRelease: (tracked: TrackedBuffer) => void,
  ) {}

  /** Adds a view. */
  retain(): this {
    this.references++;
    return this;
  }

  /** Drops a view; the last one hands the buffer back. */
  release(): void {
    this.references--;
    if (this.references === 0) this.onRelease(this.tracked);
  }
}

/** A WebGPU tensor: f32 or i32 elements (f16, q8_0: KV caches), row-major, from byte 0 of its storage buffer. */
export class GpuTensor implements Tensor {
  /** Always `'webgpu'` ({@link BACKEND_NAME}); other backends reject the tensor with `BACKEND_MISMATCH`. */
  readonly backendName = BACKEND_NAME;
  /** Elements. */
  readonly size: number;
  private disposed = false;

  constructor(
    readonly dtype: DType,
    readonly shape: readonly number[],
    readonly storage: GpuStorage,
  ) {
    this.size = elementCount(shape);
  }

  /** Bytes of the elements (`storageBytes` of core: 4 per element for f32 and i32, 2 for f16; q8_0 blocks). */
  get byteLength(): number {
    return storageBytes(this.dtype, this.shape);
  }

  /** The storage buffer; throws `TENSOR_DISPOSED` after dispose. */
  get tracked(): TrackedBuffer {
    if (this.disposed) {
      throw new StrataError('TENSOR_DISPOSED', `A disposed WebGPU tensor [${this.shape.join(', ')}] was used.`);
    }
    return this.storage.tracked;
  }

  /** True after {@link GpuTensor.dispose}. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Releases this view (idempotent). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.storage.release();
  }
}
