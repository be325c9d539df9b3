import {
  type DType,
  elementCount,
  StrataError,
  type Tensor,
  type WeightBytes,
  type WeightDescriptor,
  type WeightTensor,
} from '@strata/core';
import type { AcquiredDevice, GpuFeatures } from '../device/acquire-device.js';
import { copyColumns } from '../kernels/layout/copy-columns.js';
import { readCacheRows } from '../kernels/layout/read-cache-rows.js';
import type { GpuRuntime } from '../runtime/runtime.js';
import { BACKEND_NAME, GpuTensor } from '../tensor/gpu-tensor.js';
import { halvesToFloats, q8ToFloats } from '../tensor/host-decode.js';
import { GpuWeight } from '../weights/gpu-weight.js';
import { uploadWeight } from '../weights/upload-weight.js';

/** Reads up to this many bytes go through a reused staging buffer (a token id, a row of logits). */
const STAGING_REUSE_BYTES = 1 << 20;
/** Most reused staging buffers kept (reads in flight at once). */
const STAGING_REUSE_COUNT = 4;

/**
 * The memory and transfer ops of {@link WebGpuBackend} (uploads, reads, views, row and column copies, disposal, the
 * pool): the base of its op families, holding the device and the runtime every kernel computes with.
 */
export abstract class WebGpuMemoryOps {
  /** `'webgpu'`: the `backendName` of every tensor and weight this backend creates, and the only one it accepts. */
  readonly name = BACKEND_NAME;
  /** {@link Backend.defersWork}: ops record dispatches the GPU runs after the submit. */
  readonly defersWork = true;
  /** Runtime the kernels compute with (device, pool, pipeline cache, recorder). */
  readonly runtime: GpuRuntime;
  private destroyed = false;
  private weightBytes = 0;
  /** Mappable buffers of {@link STAGING_REUSE_BYTES} for small reads, free for the next one. */
  private readonly stagingBuffers: GPUBuffer[] = [];

  constructor(
    private readonly acquired: AcquiredDevice,
    runtime: GpuRuntime,
  ) {
    this.runtime = runtime;
  }

  /** The device in use. */
  get device(): GPUDevice {
    return this.acquired.device;
  }

  /** Optional features in use. */
  get features(): GpuFeatures {
    return this.acquired.features;
  }

  // ── memory ──────────────────────────────────────────────────────────────────────────────────────────────────────────
  /**
   * {@link Backend.uploadWeight}: stores the weight in the file's block layout, split by whole rows into chunks of at
   * most `maxChunkBytes` (one storage binding each); float vectors (F32/F16/BF16) become f32. A streamed upload keeps
   * only a small staging window on the host. Waits for the device's error scopes, so a failed allocation throws here.
   * Throws `SHAPE_MISMATCH` for a bad shape or a byte count that does not match it, `OUT_OF_MEMORY` when one row does
   * not fit a binding, and `DEVICE_LOST` after device loss. Types no kernel reads fail later, at the op that uses them
   * (`UNSUPPORTED_TENSOR_TYPE`).
   */
  async uploadWeight(descriptor: WeightDescriptor, bytes: WeightBytes): Promise<WeightTensor> {
    this.runtime.errors.assertAlive();
    const weight = await this.runtime.errors.captureNow(`the upload of weight ${descriptor.name}`, () =>
      uploadWeight(this.device, descriptor, bytes, { maxChunkBytes: this.runtime.maxChunkBytes }),
    );
    for (const chunk of weight.chunks) this.weightBytes += chunk.tracked.size;
    return weight;
  }

  /**
   * {@link Backend.upload}: a pooled buffer (f32 for a `Float32Array`, i32 for an `Int32Array`) written in recording
   * order (`queue.writeBuffer`, or a staging copy when unsubmitted commands still use the reused buffer). Throws
   * `SHAPE_MISMATCH` when `data.length` is not the element count of `shape`, `OUT_OF_MEMORY` when it exceeds the
   * largest storage binding.
   */
  upload(data: Float32Array | Int32Array, shape: readonly number[]): Tensor {
    if (elementCount(shape) !== data.length) {
      throw new StrataError('SHAPE_MISMATCH', `upload: ${data.length} values do not fill shape [${shape.join(', ')}].`);
    }
    return this.runtime.upload(data, shape);
  }

  /** {@link Backend.zeros}: an f32 tensor from the pool, cleared by a recorded `clearBuffer` (no host upload). */
  zeros(shape: readonly number[]): Tensor {
    const tensor = this.runtime.allocate('f32', shape);
    this.runtime.recorder.clear(tensor.tracked, 0, Math.ceil(Math.max(4, tensor.byteLength) / 4) * 4);
    return tensor;
  }

  /**
   * {@link Backend.read}: copies the tensor into a mappable staging buffer at the end of the recorded batch, submits
   * the batch and maps the copy; the result is `Int32Array` for i32 tensors, else `Float32Array`. Throws the first
   * device error of the recorded work (validation, out-of-memory) and `DEVICE_LOST` when mapping fails.
   */
  async read(tensor: Tensor): Promise<Float32Array | Int32Array> {
    this.runtime.recorder.refuseWhileCapturing('read tensors back');
    const source = this.runtime.tensor(tensor);
    // Halves and q8_0 blocks (KV caches) are copied as whole words and decoded to f32 on the host.
    const bytes = Math.ceil(source.byteLength / 4) * 4;
    const empty = () => (source.dtype === 'i32' ? new Int32Array(0) : new Float32Array(0));
    if (bytes === 0) {
      await this.flush();
      return empty();
    }
    // Small reads (token ids, a row of logits) reuse staging buffers; a large one gets its own.
    const reusable = bytes <= STAGING_REUSE_BYTES;
    const staging =
      (reusable ? this.stagingBuffers.pop() : undefined) ??
      this.device.createBuffer({
        size: reusable ? STAGING_REUSE_BYTES : bytes,
        usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
      });
    this.runtime.recorder.commandEncoder().copyBufferToBuffer(source.tracked.buffer, 0, staging, 0, bytes);
    source.tracked.lastBatch = this.runtime.recorder.batch;
    this.runtime.recorder.submit();
    try {
      await staging.mapAsync(GPUMapMode.READ, 0, bytes);
    } catch (cause) {
      staging.destroy();
      await this.runtime.errors.check();
      throw new StrataError('DEVICE_LOST', `Reading a tensor back failed: ${String(cause)}`, { cause });
    }
    const copy = staging.getMappedRange(0, bytes).slice(0);
    staging.unmap();
    if (reusable && this.stagingBuffers.length < STAGING_REUSE_COUNT) this.stagingBuffers.push(staging);
    else staging.destroy();
    await this.runtime.errors.check();
    if (source.dtype === 'f16') return halvesToFloats(new Uint16Array(copy, 0, source.size));
    if (source.dtype === 'q8_0') return q8ToFloats(copy, source.shape[0] ?? 0, source.shape[1] ?? 0);
    return source.dtype === 'i32' ? new Int32Array(copy) : new Float32Array(copy);
  }

  /**
   * {@link Backend.flush}: submits the recorded batch, waits for the queue to finish it, then throws the first device
   * error seen since the last check.
   */
  async flush(): Promise<void> {
    this.runtime.recorder.refuseWhileCapturing('wait for the device');
    this.runtime.recorder.submit();
    await this.device.queue.onSubmittedWorkDone();
    await this.runtime.errors.check();
  }

  /**
   * {@link Backend.dispose}. A tensor's buffer goes back to the pool once it and every `reshape` view of it are disposed
   * (safe at once: later dispatches run after earlier ones). A weight's chunk buffers are destroyed, after the next
   * submit when unsubmitted commands still bind them. Throws `BACKEND_MISMATCH` for another backend's tensor.
   */
  dispose(tensor: Tensor | WeightTensor): void {
    if (tensor instanceof GpuTensor) tensor.dispose();
    else if (tensor instanceof GpuWeight) {
      // Buffers that recorded commands still use are destroyed once those commands are submitted.
      const recorder = this.runtime.recorder;
      if (!tensor.isDisposed) for (const chunk of tensor.chunks) this.weightBytes -= chunk.tracked.size;
      tensor.dispose((tracked) => {
        if (recorder.pending && tracked.lastBatch === recorder.batch)
          recorder.afterSubmit(() => tracked.buffer.destroy());
        else tracked.buffer.destroy();
      });
    } else {
      throw new StrataError('BACKEND_MISMATCH', `dispose: the tensor belongs to backend "${tensor.backendName}".`);
    }
  }

  /**
   * {@link Backend.reshape}: a view sharing the same buffer (no copy, no dispatch); dispose it like any tensor. Throws
   * `SHAPE_MISMATCH` when the element counts differ.
   */
  reshape(tensor: Tensor, shape: readonly number[]): Tensor {
    const source = this.runtime.tensor(tensor);
    rejectCacheStorage(source, 'reshape', ['q8_0']);
    if (elementCount(shape) !== source.size) {
      throw new StrataError(
        'SHAPE_MISMATCH',
        `reshape: [${source.shape.join(', ')}] has ${source.size} elements, [${shape.join(', ')}] has ${elementCount(shape)}.`,
      );
    }
    return this.runtime.view(source, shape);
  }

  /**
   * {@link Backend.sliceRows}: a recorded buffer-to-buffer copy of rows `[start, start + count)` into a new tensor of
   * the same dtype; rows of an f16 or q8_0 cache tensor are decoded to f32 by a kernel instead. Throws
   * `SHAPE_MISMATCH` unless the tensor is 2-D and the range lies inside it.
   */
  sliceRows(tensor: Tensor, start: number, count: number): Tensor {
    const source = this.runtime.tensor(tensor);
    const [rows = 0, columns = 0] = source.shape;
    if (
      source.shape.length !== 2 ||
      !Number.isInteger(start) ||
      !Number.isInteger(count) ||
      start < 0 ||
      count < 0 ||
      start + count > rows
    ) {
      throw new StrataError(
        'SHAPE_MISMATCH',
        `sliceRows: rows [${start}, ${start + count}) are not inside [${source.shape.join(', ')}] (a 2-D tensor).`,
      );
    }
    if (source.dtype === 'f16' || source.dtype === 'q8_0') return readCacheRows(this.runtime, source, start, count);
    const output = this.runtime.allocate(source.dtype, [count, columns]);
    if (count * columns > 0)
      this.runtime.recorder.copy(source.tracked, start * columns * 4, output.tracked, 0, count * columns * 4);
    return output;
  }

  /**
   * {@link Backend.gatherRows}: recorded buffer-to-buffer copies, one per run of consecutive rows. Throws
   * `SHAPE_MISMATCH` unless the tensor is 2-D and every row lies inside it.
   */
  gatherRows(tensor: Tensor, rows: readonly number[]): Tensor {
    const source = this.runtime.tensor(tensor);
    const [count = 0, columns = 0] = source.shape;
    if (source.shape.length !== 2 || rows.some((row) => !Number.isInteger(row) || row < 0 || row >= count)) {
      throw new StrataError(
        'SHAPE_MISMATCH',
        `gatherRows: rows ${rows.join(', ')} are not all inside [${source.shape.join(', ')}] (a 2-D tensor).`,
      );
    }
    const output = this.runtime.allocate(source.dtype, [rows.length, columns]);
    const rowBytes = columns * 4;
    for (let index = 0; index < rows.length && rowBytes > 0; ) {
      let run = 1;
      while (index + run < rows.length && rows[index + run] === rows[index]! + run) run++;
      this.runtime.recorder.copy(
        source.tracked,
        rows[index]! * rowBytes,
        output.tracked,
        index * rowBytes,
        run * rowBytes,
      );
      index += run;
    }
    return output;
  }

  /**
   * {@link Backend.splitColumns}: one copy kernel per part, each a new `[rows, width]` tensor. Throws `SHAPE_MISMATCH`
   * unless the tensor is 2-D and the widths (non-negative integers) add up to its columns.
   */
  splitColumns(tensor: Tensor, widths: readonly number[]): Tensor[] {
    const source = this.runtime.tensor(tensor);
    rejectCacheStorage(source, 'splitColumns', ['f16', 'q8_0']);
    const total = widths.reduce((sum, width) => sum + width, 0);
    if (
      source.shape.length !== 2 ||
      total !== source.shape[1] ||
      widths.some((width) => !Number.isInteger(width) || width < 0)
    ) {
      throw new StrataError(
        'SHAPE_MISMATCH',
        `splitColumns: widths ${widths.join(' + ')} do not add up to the columns of [${source.shape.join(', ')}].`,
      );
    }
    let first = 0;
    return widths.map((width) => {
      const part = copyColumns(this.runtime, source, first, width);
      first += width;
      return part;
    });
  }

  /** GPU memory held: activations in use, free buffers kept by the pool, weights. */
  memory(): { activeBytes: number; pooledBytes: number; weightBytes: number } {
    const { liveBytes, freeBytes } = this.runtime.pool.stats();
    return { activeBytes: liveBytes, pooledBytes: freeBytes, weightBytes: this.weightBytes };
  }

  /** Runs the recorded work, then destroys the pool's free buffers (after a long prompt, say). */
  async releasePooledMemory(): Promise<void> {
    await this.flush();
    this.runtime.pool.trim();
    this.runtime.recorder.forgetBindGroups();
  }

  /** Releases the device (and Dawn in Node). The backend and its tensors are unusable afterwards. */
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    for (const staging of this.stagingBuffers.splice(0)) staging.destroy();
    this.runtime.pool.trim();
    this.acquired.release();
  }
}

/** Throws `DTYPE_MISMATCH` when `tensor` is a KV cache tensor of one of `dtypes`, which `operation` cannot take. */
function rejectCacheStorage(tensor: GpuTensor, operation: string, dtypes: readonly DType[]): void {
  if (dtypes.includes(tensor.dtype)) {
    throw new StrataError(
      'DTYPE_MISMATCH',
      `${operation} cannot take a ${tensor.dtype} KV cache tensor; read it or slice its rows (f32) instead.`,
      { details: { operation, dtype: tensor.dtype } },
    );
  }
}
