import { StrataError, type WeightTensor, type WeightType } from '@strata/core';
import type { TrackedBuffer } from '../runtime/buffer-pool.js';
import { BACKEND_NAME } from '../tensor/gpu-tensor.js';

/**
 * One bindable piece of a weight: rows `[firstRow, firstRow + rows)` in the file's block layout, starting at byte 0 of
 * its own buffer (row r of the chunk starts at byte `(r − firstRow) · rowBytes`; rowBytes need not be a multiple of 4).
 */
export interface WeightChunk {
  /** The chunk's own storage buffer (at most `maxChunkBytes`, so one binding covers it). */
  readonly tracked: TrackedBuffer;
  /** Index, over all rows of the weight, of the chunk's first row. */
  readonly firstRow: number;
  /** Whole rows in the chunk (expert stacks: whole experts whenever one expert fits a binding). */
  readonly rows: number;
  /** Bytes of data (`rows · rowBytes`); the buffer is padded to a multiple of 4. */
  readonly byteLength: number;
}

/**
 * A weight on the GPU. Rows are the last dimension (`[out, columns]`: `out` rows; `[experts, out, columns]`:
 * `experts · out` rows; a vector `[length]`: one row). Bytes are in the file's layout, except vectors of F32/F16/BF16,
 * which are stored as f32 (`storedType` `F32`).
 */
export class GpuWeight implements WeightTensor {
  /** Always `'webgpu'`; other backends reject the weight with `BACKEND_MISMATCH`. */
  readonly backendName = BACKEND_NAME;
  private disposed = false;

  constructor(
    /** Name in the file (error messages). */
    readonly name: string,
    /** Type of the file's bytes, as described at upload. */
    readonly type: WeightType,
    readonly shape: readonly number[],
    /** Type of the bytes on the GPU (`F32` for converted vectors, otherwise `type`). */
    readonly storedType: WeightType,
    /** Elements per row (the last dimension). */
    readonly columns: number,
    /** Rows over all leading dimensions. */
    readonly rows: number,
    /** Bytes per row in `storedType`. */
    readonly rowBytes: number,
    private readonly chunkList: readonly WeightChunk[],
  ) {}

  /** The chunks, in row order; throws `TENSOR_DISPOSED` after dispose. */
  get chunks(): readonly WeightChunk[] {
    if (this.disposed) throw new StrataError('TENSOR_DISPOSED', `Weight ${this.name} was disposed.`);
    return this.chunkList;
  }

  /** True after dispose. */
  get isDisposed(): boolean {
    return this.disposed;
  }

  /** Marks the weight disposed and hands each chunk buffer to `destroy` (idempotent). */
  dispose(destroy: (tracked: TrackedBuffer) => void): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const chunk of this.chunkList) destroy(chunk.tracked);
  }
}
