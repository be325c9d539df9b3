import {
  type ActivationKind,
  type AttentionOptions,
  type Backend,
  type DType,
  type ExpertRouting,
  type ExpertRoutingOptions,
  checkPagedPoolSize,
  elementCount,
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
  type StepPlan,
  type PoolSequencesOptions,
  Q8_0_BLOCK_SIZE,
  type SelfAttentionOptions,
  StrataError,
  type Tensor,
  type WeightBytes,
  type WeightDescriptor,
  type WeightTensor,
} from '@strata/core';
import { type AcquiredDevice, acquireDevice, type DeviceOptions, type GpuFeatures } from './device/acquire-device.js';
import { ErrorTracker } from './device/error-tracker.js';
import { attention } from './kernels/attention/attention.js';
import { ropeAndWriteKeyValues } from './kernels/attention/rope-and-write.js';
import {
  pagedAttention,
  ropeAndWritePagedKeyValues,
  writePagedKeyValues,
} from './kernels/attention/paged-attention.js';
import { writeKeyValues } from './kernels/attention/write-key-values.js';
import { binary, unary } from './kernels/elementwise/elementwise.js';
import { embedding } from './kernels/embedding/index.js';
import { l2Normalize, poolSequences, selfAttention } from './kernels/encoder/index.js';
import { copyColumns } from './kernels/layout/copy-columns.js';
import { readCacheRows } from './kernels/layout/read-cache-rows.js';
import { matmulAdd, rmsNormGatedMatmul, rmsNormMatmul } from './kernels/matmul/fused-matvec.js';
import { matmul, matmulExperts } from './kernels/matmul/index.js';
import { layerNorm, rmsNorm } from './kernels/normalization/norms.js';
import { softmax } from './kernels/normalization/softmax.js';
import { rope } from './kernels/attention/rope.js';
import { argmax } from './kernels/sampling/argmax.js';
import { sampleToken } from './kernels/sampling/sample-token.js';
import { combineExperts, routeExperts } from './kernels/routing/experts.js';
import { GpuRuntime } from './runtime/runtime.js';
import { GpuStepPlan } from './runtime/step-plan.js';
import { resolveTuning, type WebGpuTuning } from './runtime/tuning.js';
import { BACKEND_NAME, GpuTensor } from './tensor/gpu-tensor.js';
import { halvesToFloats, q8ToFloats } from './tensor/host-decode.js';
import { GpuWeight } from './weights/gpu-weight.js';
import { uploadWeight } from './weights/upload-weight.js';

/** Options of {@link createWebGpuBackend}. */
export interface WebGpuBackendOptions extends DeviceOptions {
  /**
   * Largest bytes of one weight chunk; defaults to the device's `maxStorageBufferBindingSize`. Smaller values exercise
   * the chunked paths in tests.
   */
  readonly maxChunkBytes?: number;
  /**
   * Kernel tunables over the defaults (`DEFAULT_WEBGPU_TUNING`; tests and benchmarks), e.g.
   * `{ decodeAttentionMinKeysPerSplit: 16 }` or `{ quantMatvec: { Q4_K: { layout: 'vector', rowsPerWorkgroup: 4 } } }`
   * (the one-row quantized kernel variants, `kernels/matmul/quant-matvec-shader.ts`). Checked before a device is
   * acquired: a key-split floor out of range throws `INVALID_ARGUMENT`, a quantized tuning no kernel can take
   * `INVALID_CONFIG`.
   */
  readonly tuning?: Partial<WebGpuTuning>;
}

/** Reads up to this many bytes go through a reused staging buffer (a token id, a row of logits). */
const STAGING_REUSE_BYTES = 1 << 20;
/** Most reused staging buffers kept (reads in flight at once). */
const STAGING_REUSE_COUNT = 4;

/**
 * The WebGPU implementation of {@link Backend}. Ops are recorded into one command encoder and submitted at `read` or
 * `flush`; see the package README for the design.
 */
export class WebGpuBackend implements Backend {
  /** `'webgpu'`: the `backendName` of every tensor and weight this backend creates, and the only one it accepts. */
  readonly name = BACKEND_NAME;
  /** Runtime the kernels compute with (device, pool, pipeline cache, recorder). */
  readonly runtime: GpuRuntime;
  private destroyed = false;
  private weightBytes = 0;
  /** Mappable buffers of {@link STAGING_REUSE_BYTES} for small reads, free for the next one. */
  private readonly stagingBuffers: GPUBuffer[] = [];

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
    this.runtime = new GpuRuntime(device, acquired.features, errors, maxChunkBytes, resolveTuning(options.tuning));
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
   * {@link Backend.createKeyValueCache}: an `'f16'` cache is stored as halves (two per word; half the bytes of f32),
   * written by the cache-write kernels and read by attention directly. `width` must be even for that (heads of even
   * size); an odd width keeps f32 storage and rounds. A `'q8_0'` cache is stored as q8_0 tensors (the int8 quants,
   * then each row's f16 scales; 34 bytes per 32 values), quantized by the cache-write kernels and read by attention
   * directly; `width` must be a multiple of 32 (`SHAPE_MISMATCH` otherwise).
   */
  createKeyValueCache(capacity: number, width: number, precision: KeyValuePrecision = 'f32'): KeyValueCache {
    if (precision === 'q8_0' && !(Number.isInteger(width) && width > 0 && width % Q8_0_BLOCK_SIZE === 0)) {
      throw new StrataError(
        'SHAPE_MISMATCH',
        `A q8_0 KV cache needs rows of whole blocks of ${Q8_0_BLOCK_SIZE} values; rows of ${width} are not (use heads of a multiple of 32 dimensions, or an f16/f32 cache).`,
        { details: { width } },
      );
    }
    const dtype = precision === 'q8_0' ? 'q8_0' : precision === 'f16' && width % 2 === 0 ? 'f16' : 'f32';
    const make = () => {
      const tensor = this.runtime.allocate(dtype, [capacity, width]);
      this.runtime.recorder.clear(tensor.tracked, 0, Math.ceil(Math.max(4, tensor.byteLength) / 4) * 4);
      return tensor;
    };
    return { keys: make(), values: make(), ...(precision === 'f32' ? {} : { precision }) };
  }

  /**
   * {@link Backend.createPagedKeyValueCache}: one `createKeyValueCache` of `pages · pageSize` rows (f16 stored as
   * halves where the width is even), so a pool must fit one storage binding per keys and values; `OUT_OF_MEMORY`
   * otherwise.
   */
  createPagedKeyValueCache(
    pages: number,
    pageSize: number,
    width: number,
    precision: KeyValuePrecision = 'f32',
  ): PagedKeyValueCache {
    checkPagedPoolSize(pages, pageSize);
    return { storage: this.createKeyValueCache(pages * pageSize, width, precision), pages, pageSize };
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

  // ── linear algebra (src/kernels/matmul, src/kernels/embedding) ─────────────────────────────────────────────────────
  /**
   * {@link Backend.embedding}: dequantizes the rows of a `[vocabulary, width]` table of any supported weight type;
   * ids outside the vocabulary give zero rows. Throws `SHAPE_MISMATCH` for a table that is not 2-D, `DTYPE_MISMATCH`
   * when `ids` is not i32, `UNSUPPORTED_TENSOR_TYPE` for a type the kernels cannot read.
   */
  embedding(table: WeightTensor, ids: Tensor, scale = 1): Tensor {
    return embedding(this.runtime, table, ids, scale);
  }

  /**
   * {@link Backend.matmul}, dequantizing the weight inside the kernel; leading input dimensions are flattened into
   * rows. One row (decode) runs the wide mat-vec, up to `MAX_MATVEC_ROWS` rows the mat-vec, more the 64 × 64 tiled
   * mat-mul; chunked weights take one dispatch per chunk. Throws `SHAPE_MISMATCH` when the weight is not `[out,
   * columns]`, the input's last dimension is not `columns` or the bias is not a float vector `[out]`;
   * `UNSUPPORTED_TENSOR_TYPE` for a weight type the kernels cannot read.
   */
  matmul(input: Tensor, weight: WeightTensor, bias?: WeightTensor): Tensor {
    return matmul(this.runtime, input, weight, bias);
  }

  /**
   * {@link Backend.rmsNormMatmul}. One input row: one dispatch per projection, the decode mat-vec computing the row's
   * RMS norm itself and storing up to three output parts; more rows: `rmsNorm`, one `matmul` per projection and a copy
   * per part. Throws `SHAPE_MISMATCH` when a weight does not match the input, the widths do not add up to its rows, or
   * a bias or the norm weight is not a float vector of the right length.
   */
  rmsNormMatmul(input: Tensor, norm: InputNorm | undefined, projections: readonly Projection[]): Tensor[] {
    return rmsNormMatmul(this.runtime, input, norm, projections);
  }

  /**
   * {@link Backend.rmsNormGatedMatmul}. One input row and a weight in one chunk: one dispatch, each workgroup computing
   * gate and up rows of the same indices; otherwise the unfused ops. Throws `SHAPE_MISMATCH` for a weight of an odd
   * number of rows or one that does not match the input.
   */
  rmsNormGatedMatmul(input: Tensor, norm: InputNorm | undefined, weight: WeightTensor, kind: ActivationKind): Tensor {
    return rmsNormGatedMatmul(this.runtime, input, norm, weight, kind);
  }

  /**
   * {@link Backend.matmulAdd}. One input row: the residual is added in the mat-vec's store (one dispatch per weight
   * chunk); more rows: `matmul`, then `add`. Throws `SHAPE_MISMATCH` when the residual's shape is not the product's.
   */
  matmulAdd(input: Tensor, weight: WeightTensor, residual: Tensor, bias?: WeightTensor): Tensor {
    return matmulAdd(this.runtime, input, weight, residual, bias);
  }

  /**
   * {@link Backend.matmulExperts}: the mat-vec kernel in expert mode, each slot reading the rows of its expert from
   * the `[experts, out, columns]` stack. Throws `SHAPE_MISMATCH` when the weight is not 3-D, `experts` is not i32
   * `[rows, topK]` or the input has neither `rows` nor `rows · topK` rows of `columns`.
   */
  matmulExperts(input: Tensor, weight: WeightTensor, experts: Tensor): Tensor {
    return matmulExperts(this.runtime, input, weight, experts);
  }

  // ── element-wise and normalisation ────────────────────────────────────────────────────────────────────────────────
  /**
   * {@link Backend.add}, one invocation per element. Throws `SHAPE_MISMATCH` unless `b` has `a`'s shape or is one row
   * (`[columns]` or `[1, columns]`) of it.
   */
  add(a: Tensor, b: Tensor): Tensor {
    return binary(this.runtime, a, b, { kind: 'add' });
  }

  /** {@link Backend.mul}, with the shapes and errors of {@link WebGpuBackend.add}. */
  mul(a: Tensor, b: Tensor): Tensor {
    return binary(this.runtime, a, b, { kind: 'mul' });
  }

  /** {@link Backend.scale}: a new f32 tensor of the input's shape (`factor` is passed as an f32 uniform). */
  scale(input: Tensor, factor: number): Tensor {
    return unary(this.runtime, input, { kind: 'scale', factor });
  }

  /** {@link Backend.activation}: `silu`, `gelu-tanh`, `gelu-erf` or `relu` element-wise, into a new f32 tensor. */
  activation(input: Tensor, kind: ActivationKind): Tensor {
    return unary(this.runtime, input, { kind: 'activation', activation: kind });
  }

  /**
   * {@link Backend.gatedActivation}: `activation(gate) · up` in one kernel. Throws `SHAPE_MISMATCH` unless `gate` and
   * `up` have the same shape (no broadcasting).
   */
  gatedActivation(gate: Tensor, up: Tensor, kind: ActivationKind): Tensor {
    return binary(this.runtime, gate, up, { kind: 'gated', activation: kind });
  }

  /** {@link Backend.softcap}: `cap · tanh(input / cap)` element-wise (Gemma 2 final logits), into a new tensor. */
  softcap(input: Tensor, cap: number): Tensor {
    return unary(this.runtime, input, { kind: 'softcap', cap });
  }

  /**
   * {@link Backend.rmsNorm}, one workgroup per row. Throws `SHAPE_MISMATCH` when the weight is not a float vector of
   * the input's last dimension.
   */
  rmsNorm(input: Tensor, weight: WeightTensor | undefined, epsilon: number): Tensor {
    return rmsNorm(this.runtime, input, weight, epsilon);
  }

  /**
   * {@link Backend.layerNorm}: (x − mean) / √(variance + epsilon) · weight + bias over the last dimension, one
   * workgroup per row. Throws `SHAPE_MISMATCH` when weight or bias is not a float vector of that dimension.
   */
  layerNorm(input: Tensor, weight: WeightTensor | undefined, bias: WeightTensor | undefined, epsilon: number): Tensor {
    return layerNorm(this.runtime, input, weight, bias, epsilon);
  }

  /** {@link Backend.softmax} over the last dimension, one workgroup per row (maximum, then sum of exponentials). */
  softmax(input: Tensor): Tensor {
    return softmax(this.runtime, input);
  }

  // ── attention ─────────────────────────────────────────────────────────────────────────────────────────────────────
  /**
   * {@link Backend.rope}, one invocation per element, `pairing` choosing adjacent or half-split pairs. Throws
   * `SHAPE_MISMATCH` when the input is not 2-D with whole heads of `headDimensions`, the rotary dimensions are odd or
   * exceed the head, or there are fewer than `rotaryDimensions / 2` inverse frequencies.
   */
  rope(input: Tensor, firstPosition: number, parameters: RopeParameters): Tensor {
    return rope(this.runtime, input, firstPosition, parameters);
  }

  /**
   * {@link Backend.writeKeyValues}: records a kernel that writes row `position mod capacity` of the cache (rounded to
   * half precision first when `cache.precision` is `'f16'`); of more rows than the capacity only the last `capacity`
   * are written. Throws `SHAPE_MISMATCH` when keys, values and cache widths disagree, `INVALID_ARGUMENT` for an
   * unknown precision.
   */
  writeKeyValues(cache: KeyValueCache, keys: Tensor, values: Tensor, firstPosition: number): void {
    writeKeyValues(this.runtime, cache, keys, values, firstPosition);
  }

  /** {@link Backend.ropeAndWriteKeyValues}: one dispatch for both rotations and the cache write. */
  ropeAndWriteKeyValues(
    queries: Tensor,
    keys: Tensor,
    values: Tensor,
    cache: KeyValueCache,
    firstPosition: number,
    parameters: RopeParameters,
  ): Tensor {
    return ropeAndWriteKeyValues(this.runtime, queries, keys, values, cache, firstPosition, parameters);
  }

  /**
   * {@link Backend.attention} in one pass over the keys with an online softmax (flash attention): each workgroup
   * shares key/value tiles among query rows and the heads of one GQA group, and splits the keys over workgroups (a
   * second pass combines them) when there are few queries, as in decode. Throws `SHAPE_MISMATCH` when the queries,
   * head counts and cache do not fit together, or a head does not fit the GPU's workgroup memory.
   */
  attention(queries: Tensor, cache: KeyValueCache, options: AttentionOptions): Tensor {
    return attention(this.runtime, queries, cache, options);
  }

  /** {@link Backend.writePagedKeyValues}: one invocation per element (per pair for halves), at each row's slot. */
  writePagedKeyValues(cache: PagedKeyValueCache, keys: Tensor, values: Tensor, batch: PagedBatch): void {
    writePagedKeyValues(this.runtime, cache, keys, values, batch);
  }

  /** {@link Backend.ropeAndWritePagedKeyValues}: one dispatch, each row rotated at its own position. */
  ropeAndWritePagedKeyValues(
    queries: Tensor,
    keys: Tensor,
    values: Tensor,
    cache: PagedKeyValueCache,
    batch: PagedBatch,
    parameters: RopeParameters,
  ): Tensor {
    return ropeAndWritePagedKeyValues(this.runtime, queries, keys, values, cache, batch, parameters);
  }

  /**
   * {@link Backend.pagedAttention}: the flash-attention kernel of {@link WebGpuBackend.attention} over every
   * sequence's rows in one dispatch, its blocks never spanning two sequences and its keys read through each
   * sequence's page table (plus the combine pass when the keys are split).
   */
  pagedAttention(
    queries: Tensor,
    cache: PagedKeyValueCache,
    batch: PagedBatch,
    options: PagedAttentionOptions,
  ): Tensor {
    return pagedAttention(this.runtime, queries, cache, batch, options);
  }

  /** {@link Backend.selfAttention}: one workgroup per (row, head), two passes over the sequence's keys. */
  selfAttention(queries: Tensor, keys: Tensor, values: Tensor, options: SelfAttentionOptions): Tensor {
    return selfAttention(this.runtime, queries, keys, values, options);
  }

  /** {@link Backend.poolSequences}: one invocation per output element. */
  poolSequences(hidden: Tensor, options: PoolSequencesOptions): Tensor {
    return poolSequences(this.runtime, hidden, options);
  }

  /** {@link Backend.l2Normalize}: one workgroup per row. */
  l2Normalize(input: Tensor, epsilon: number): Tensor {
    return l2Normalize(this.runtime, input, epsilon);
  }

  // ── routing and sampling ──────────────────────────────────────────────────────────────────────────────────────────
  /**
   * {@link Backend.routeExperts}, one invocation per row. Throws `SHAPE_MISMATCH` unless the logits are 2-D and
   * `topK` is an integer in `[1, experts]`.
   */
  routeExperts(logits: Tensor, options: ExpertRoutingOptions): ExpertRouting {
    return routeExperts(this.runtime, logits, options);
  }

  /**
   * {@link Backend.combineExperts}: f32 `[rows, columns]`. Throws `SHAPE_MISMATCH` unless `slots` is `[rows · topK,
   * columns]` for `weights` `[rows, topK]`.
   */
  combineExperts(slots: Tensor, weights: Tensor): Tensor {
    return combineExperts(this.runtime, slots, weights);
  }

  /** {@link Backend.argmax}, one workgroup per row. Throws `SHAPE_MISMATCH` when the rows are empty. */
  argmax(input: Tensor): Tensor {
    return argmax(this.runtime, input);
  }

  /**
   * {@link Backend.sampleToken} on the device: only the chosen id (i32 `[1]`) needs reading back. The parameters are
   * checked on the host first, as the CPU backend does: `INVALID_SAMPLING_OPTIONS` for out-of-range values or
   * mismatched list lengths, `TOKEN_OUT_OF_RANGE` for a penalised or biased id outside the vocabulary;
   * `SHAPE_MISMATCH` when there is no row to sample.
   */
  sampleToken(logits: Tensor, parameters: SamplingParameters): Tensor {
    return sampleToken(this.runtime, logits, parameters);
  }

  // ── captured steps (src/runtime/step-plan.ts) ───────────────────────────────────────────────────────────────────
  /**
   * {@link Backend.captureStep}: the first run records the body's dispatches; every run then writes the ids and the
   * position-dependent uniforms and re-encodes the recording (no per-op work on the CPU).
   */
  captureStep(rows: number, body: StepBody): StepPlan {
    return new GpuStepPlan(this.runtime, rows, body);
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

/**
 * Creates a WebGPU backend: `navigator.gpu` in browsers and workers; in Node the optional `webgpu` package (Dawn).
 * Throws `NO_ADAPTER` when there is no WebGPU adapter, `INVALID_ARGUMENT` for a key-split floor out of range and
 * `INVALID_CONFIG` for a `tuning.quantMatvec` entry no kernel can take. Call `destroy()` when done so Node can exit.
 */
export async function createWebGpuBackend(options: WebGpuBackendOptions = {}): Promise<WebGpuBackend> {
  resolveTuning(options.tuning);
  const acquired = await acquireDevice(options);
  return new WebGpuBackend(acquired, options);
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
