import {
  type ActivationKind,
  type AttentionOptions,
  type Backend,
  type ExpertRouting,
  type ExpertRoutingOptions,
  elementCount,
  type KeyValueCache,
  type RopeParameters,
  type SamplingParameters,
  StrataError,
  type Tensor,
  type WeightBytes,
  type WeightDescriptor,
  type WeightTensor,
} from '@strata/core';
import { type AcquiredDevice, acquireDevice, type DeviceOptions, type GpuFeatures } from './device/acquire-device.js';
import { ErrorTracker } from './device/error-tracker.js';
import { attention } from './kernels/attention/attention.js';
import { writeKeyValues } from './kernels/attention/write-key-values.js';
import { binary, unary } from './kernels/elementwise/elementwise.js';
import { embedding } from './kernels/embedding/index.js';
import { copyColumns } from './kernels/layout/copy-columns.js';
import { matmul, matmulExperts } from './kernels/matmul/index.js';
import { layerNorm, rmsNorm } from './kernels/normalization/norms.js';
import { softmax } from './kernels/normalization/softmax.js';
import { rope } from './kernels/attention/rope.js';
import { argmax } from './kernels/sampling/argmax.js';
import { sampleToken } from './kernels/sampling/sample-token.js';
import { combineExperts, routeExperts } from './kernels/routing/experts.js';
import { GpuRuntime } from './runtime/runtime.js';
import { BACKEND_NAME, GpuTensor } from './tensor/gpu-tensor.js';
import { GpuWeight } from './weights/gpu-weight.js';
import { uploadWeight } from './weights/upload-weight.js';

/** Options of {@link createWebGpuBackend}. */
export interface WebGpuBackendOptions extends DeviceOptions {
  /**
   * Largest bytes of one weight chunk; defaults to the device's `maxStorageBufferBindingSize`. Smaller values exercise
   * the chunked paths in tests.
   */
  readonly maxChunkBytes?: number;
}

/**
 * The WebGPU implementation of {@link Backend}. Ops are recorded into one command encoder and submitted at `read` or
 * `flush`; see the package README for the design.
 */
export class WebGpuBackend implements Backend {
  readonly name = BACKEND_NAME;
  /** Runtime the kernels compute with (device, pool, pipeline cache, recorder). */
  readonly runtime: GpuRuntime;
  private destroyed = false;
  private weightBytes = 0;

  constructor(
    private readonly acquired: AcquiredDevice,
    options: WebGpuBackendOptions = {},
  ) {
    const device = acquired.device;
    const errors = new ErrorTracker(device);
    const maxChunkBytes = Math.min(
      options.maxChunkBytes ?? Number.POSITIVE_INFINITY,
      device.limits.maxStorageBufferBindingSize,
      device.limits.maxBufferSize,
    );
    this.runtime = new GpuRuntime(device, acquired.features, errors, maxChunkBytes);
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
  async uploadWeight(descriptor: WeightDescriptor, bytes: WeightBytes): Promise<WeightTensor> {
    this.runtime.errors.assertAlive();
    const weight = await this.runtime.errors.captureNow(`the upload of weight ${descriptor.name}`, () =>
      uploadWeight(this.device, descriptor, bytes, { maxChunkBytes: this.runtime.maxChunkBytes }),
    );
    for (const chunk of weight.chunks) this.weightBytes += chunk.tracked.size;
    return weight;
  }

  upload(data: Float32Array | Int32Array, shape: readonly number[]): Tensor {
    if (elementCount(shape) !== data.length) {
      throw new StrataError('SHAPE_MISMATCH', `upload: ${data.length} values do not fill shape [${shape.join(', ')}].`);
    }
    return this.runtime.upload(data, shape);
  }

  zeros(shape: readonly number[]): Tensor {
    const tensor = this.runtime.allocate('f32', shape);
    this.runtime.recorder.clear(tensor.tracked, 0, Math.ceil(Math.max(4, tensor.byteLength) / 4) * 4);
    return tensor;
  }

  async read(tensor: Tensor): Promise<Float32Array | Int32Array> {
    const source = this.runtime.tensor(tensor);
    const bytes = source.byteLength;
    const empty = () => (source.dtype === 'i32' ? new Int32Array(0) : new Float32Array(0));
    if (bytes === 0) {
      await this.flush();
      return empty();
    }
    const staging = this.device.createBuffer({ size: bytes, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
    this.runtime.recorder.commandEncoder().copyBufferToBuffer(source.tracked.buffer, 0, staging, 0, bytes);
    source.tracked.lastBatch = this.runtime.recorder.batch;
    this.runtime.recorder.submit();
    try {
      await staging.mapAsync(GPUMapMode.READ);
    } catch (cause) {
      await this.runtime.errors.check();
      throw new StrataError('DEVICE_LOST', `Reading a tensor back failed: ${String(cause)}`, { cause });
    }
    const copy = staging.getMappedRange().slice(0);
    staging.unmap();
    staging.destroy();
    await this.runtime.errors.check();
    return source.dtype === 'i32' ? new Int32Array(copy) : new Float32Array(copy);
  }

  async flush(): Promise<void> {
    this.runtime.recorder.submit();
    await this.device.queue.onSubmittedWorkDone();
    await this.runtime.errors.check();
  }

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

  reshape(tensor: Tensor, shape: readonly number[]): Tensor {
    const source = this.runtime.tensor(tensor);
    if (elementCount(shape) !== source.size) {
      throw new StrataError(
        'SHAPE_MISMATCH',
        `reshape: [${source.shape.join(', ')}] has ${source.size} elements, [${shape.join(', ')}] has ${elementCount(shape)}.`,
      );
    }
    return this.runtime.view(source, shape);
  }

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
    const output = this.runtime.allocate(source.dtype, [count, columns]);
    if (count * columns > 0)
      this.runtime.recorder.copy(source.tracked, start * columns * 4, output.tracked, 0, count * columns * 4);
    return output;
  }

  splitColumns(tensor: Tensor, widths: readonly number[]): Tensor[] {
    const source = this.runtime.tensor(tensor);
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

  // ── linear algebra (src/kernels/matmul, src/kernels/embedding) ─────────────────────────────────────────────────────
  embedding(table: WeightTensor, ids: Tensor, scale = 1): Tensor {
    return embedding(this.runtime, table, ids, scale);
  }

  matmul(input: Tensor, weight: WeightTensor, bias?: WeightTensor): Tensor {
    return matmul(this.runtime, input, weight, bias);
  }

  matmulExperts(input: Tensor, weight: WeightTensor, experts: Tensor): Tensor {
    return matmulExperts(this.runtime, input, weight, experts);
  }

  // ── element-wise and normalisation ────────────────────────────────────────────────────────────────────────────────
  add(a: Tensor, b: Tensor): Tensor {
    return binary(this.runtime, a, b, { kind: 'add' });
  }

  mul(a: Tensor, b: Tensor): Tensor {
    return binary(this.runtime, a, b, { kind: 'mul' });
  }

  scale(input: Tensor, factor: number): Tensor {
    return unary(this.runtime, input, { kind: 'scale', factor });
  }

  activation(input: Tensor, kind: ActivationKind): Tensor {
    return unary(this.runtime, input, { kind: 'activation', activation: kind });
  }

  gatedActivation(gate: Tensor, up: Tensor, kind: ActivationKind): Tensor {
    return binary(this.runtime, gate, up, { kind: 'gated', activation: kind });
  }

  softcap(input: Tensor, cap: number): Tensor {
    return unary(this.runtime, input, { kind: 'softcap', cap });
  }

  rmsNorm(input: Tensor, weight: WeightTensor | undefined, epsilon: number): Tensor {
    return rmsNorm(this.runtime, input, weight, epsilon);
  }

  layerNorm(input: Tensor, weight: WeightTensor | undefined, bias: WeightTensor | undefined, epsilon: number): Tensor {
    return layerNorm(this.runtime, input, weight, bias, epsilon);
  }

  softmax(input: Tensor): Tensor {
    return softmax(this.runtime, input);
  }

  // ── attention ─────────────────────────────────────────────────────────────────────────────────────────────────────
  rope(input: Tensor, firstPosition: number, parameters: RopeParameters): Tensor {
    return rope(this.runtime, input, firstPosition, parameters);
  }

  writeKeyValues(cache: KeyValueCache, keys: Tensor, values: Tensor, firstPosition: number): void {
    writeKeyValues(this.runtime, cache, keys, values, firstPosition);
  }

  attention(queries: Tensor, cache: KeyValueCache, options: AttentionOptions): Tensor {
    return attention(this.runtime, queries, cache, options);
  }

  // ── routing and sampling ──────────────────────────────────────────────────────────────────────────────────────────
  routeExperts(logits: Tensor, options: ExpertRoutingOptions): ExpertRouting {
    return routeExperts(this.runtime, logits, options);
  }

  combineExperts(slots: Tensor, weights: Tensor): Tensor {
    return combineExperts(this.runtime, slots, weights);
  }

  argmax(input: Tensor): Tensor {
    return argmax(this.runtime, input);
  }

  sampleToken(logits: Tensor, parameters: SamplingParameters): Tensor {
    return sampleToken(this.runtime, logits, parameters);
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
    this.runtime.pool.trim();
    this.acquired.release();
  }
}

/**
 * Creates a WebGPU backend: `navigator.gpu` in browsers and workers; in Node the optional `webgpu` package (Dawn).
 * Throws `NO_ADAPTER` when there is no WebGPU adapter. Call `destroy()` when done so Node can exit.
 */
export async function createWebGpuBackend(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  const acquired = await acquireDevice(options);
  return new WebGpuBackend(acquired, options);
}
