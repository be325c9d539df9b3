import { type DType, StrataError, storageBytes, type Tensor, type WeightTensor } from '@strata/core';
import type { GpuFeatures } from '../device/acquire-device.js';
import type { ErrorTracker } from '../device/error-tracker.js';
import { BACKEND_NAME, GpuStorage, GpuTensor } from '../tensor/gpu-tensor.js';
import { GpuWeight } from '../weights/gpu-weight.js';
import { BufferPool, createTrackedBuffer, type TrackedBuffer } from './buffer-pool.js';
import { PipelineCache } from './pipeline-cache.js';
import { type DispatchCommand, Recorder } from './recorder.js';
import { DEFAULT_WEBGPU_TUNING, type WebGpuTuning } from './tuning.js';

/**
 * What kernels compute with: the device and its features, output allocation, argument checks and dispatch recording.
 * Every op function of `src/kernels` takes the runtime as its first argument.
 */
export class GpuRuntime {
  /** Activation buffers by size class; `allocate` takes from it and disposing a tensor hands its buffer back. */
  readonly pool: BufferPool;
  /** Compiled kernels by `ShaderSpec.key`, built on first dispatch and kept for the device's lifetime. */
  readonly pipelines: PipelineCache;
  /** Records dispatches, copies and clears of the current step into one command encoder until `submit`. */
  readonly recorder: Recorder;
  private readonly constants = new WeakMap<object, TrackedBuffer>();
  private readonly empty: TrackedBuffer;

  constructor(
    readonly device: GPUDevice,
    readonly features: GpuFeatures,
    readonly errors: ErrorTracker,
    /** Largest bytes of one weight chunk (≤ `maxStorageBufferBindingSize`). */
    readonly maxChunkBytes: number,
    /** Kernel tunables (`WebGpuBackendOptions.tuning` over the defaults). */
    readonly tuning: WebGpuTuning = DEFAULT_WEBGPU_TUNING,
  ) {
    this.pool = new BufferPool(device);
    this.pipelines = new PipelineCache(device);
    this.recorder = new Recorder(device, this.pipelines, errors);
    this.empty = createTrackedBuffer(device, 16, GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST, 'empty');
  }

  /** The device limits. */
  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  /** A new tensor from the pool (contents undefined until a kernel writes it). */
  allocate(dtype: DType, shape: readonly number[]): GpuTensor {
    const bytes = Math.max(4, Math.ceil(storageBytes(dtype, shape) / 4) * 4);
    if (bytes > this.device.limits.maxStorageBufferBindingSize) {
      throw new StrataError(
        'OUT_OF_MEMORY',
        `An activation of shape [${shape.join(', ')}] (${bytes} bytes) exceeds the GPU's largest storage binding (${this.device.limits.maxStorageBufferBindingSize} bytes); process fewer rows at a time.`,
        { details: { shape: [...shape], bytes } },
      );
    }
    // A step being captured allocates from its own pool, which keeps the buffer for every replay.
    const pool = this.recorder.capture?.pool ?? this.pool;
    const tracked = pool.acquire(bytes);
    return new GpuTensor(dtype, [...shape], new GpuStorage(tracked, (buffer) => pool.release(buffer)));
  }

  /** A new view of the same storage with another shape. */
  view(tensor: GpuTensor, shape: readonly number[]): GpuTensor {
    void tensor.tracked;
    return new GpuTensor(tensor.dtype, [...shape], tensor.storage.retain());
  }

  /** Checks that a tensor belongs to this backend, is alive and has the expected dtype; returns it typed. */
  tensor(value: Tensor, dtype?: DType, what = 'tensor'): GpuTensor {
    if (!(value instanceof GpuTensor) || value.backendName !== BACKEND_NAME) {
      throw new StrataError(
        'BACKEND_MISMATCH',
        `The ${what} belongs to backend "${value.backendName}", not webgpu: compute it on this backend or read and upload it.`,
      );
    }
    void value.tracked;
    if (dtype !== undefined && value.dtype !== dtype) {
      throw new StrataError('DTYPE_MISMATCH', `The ${what} must be ${dtype}, got ${value.dtype}.`);
    }
    return value;
  }

  /** Checks that a weight belongs to this backend and is alive. */
  weight(value: WeightTensor, what = 'weight'): GpuWeight {
    if (!(value instanceof GpuWeight) || value.backendName !== BACKEND_NAME) {
      throw new StrataError(
        'BACKEND_MISMATCH',
        `The ${what} belongs to backend "${value.backendName}", not webgpu: upload it with this backend.`,
      );
    }
    void value.chunks;
    return value;
  }

  /** Records a kernel launch. */
  dispatch(command: DispatchCommand): void {
    this.recorder.dispatch(command);
  }

  /** Hands a temporary tensor back at once (safe: later dispatches run after earlier ones). */
  release(tensor: GpuTensor): void {
    tensor.dispose();
  }

  /**
   * A read-only buffer holding `data`, cached by the identity of `data` (RoPE frequency tables, constant lookup tables).
   * The array must not be modified afterwards.
   */
  constant(data: Float32Array | Uint32Array | Int32Array): TrackedBuffer {
    let tracked = this.constants.get(data);
    if (tracked === undefined) {
      tracked = createTrackedBuffer(
        this.device,
        Math.max(16, Math.ceil(data.byteLength / 16) * 16),
        GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST,
        'constant',
      );
      if (data.byteLength > 0) this.device.queue.writeBuffer(tracked.buffer, 0, data as Float32Array<ArrayBuffer>);
      this.constants.set(data, tracked);
    }
    return tracked;
  }

  /** A 16-byte buffer to bind where a kernel's optional input is absent. */
  get emptyBuffer(): TrackedBuffer {
    return this.empty;
  }

  /** Copies host data into a new tensor in recording order. */
  upload(data: Float32Array | Int32Array, shape: readonly number[]): GpuTensor {
    const tensor = this.allocate(data instanceof Int32Array ? 'i32' : 'f32', shape);
    this.recorder.write(tensor.tracked, 0, data);
    return tensor;
  }
}
