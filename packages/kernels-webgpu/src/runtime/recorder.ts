import type { ErrorTracker } from '../device/error-tracker.js';
import type { TrackedBuffer } from './buffer-pool.js';
import type { DispatchTimer } from './dispatch-timer.js';
import type { CachedPipeline, PipelineCache } from './pipeline-cache.js';
import { MAX_UNIFORM_BYTES, type ShaderSpec } from './shader.js';
import type { ReplayCommand, StepRecording } from './step-recording.js';
import { UniformArena } from './uniform-arena.js';

/** A storage buffer bound to a kernel: the whole buffer, or `size` bytes from `offset` (both multiples of 4). */
export interface BufferBinding {
  /** The buffer; binding it stamps its `lastBatch` with the batch being recorded. */
  readonly tracked: TrackedBuffer;
  /** First byte bound (default 0); WebGPU also wants it aligned to `minStorageBufferOffsetAlignment`. */
  readonly offset?: number;
  /** Bytes bound from `offset` (default: to the end of the buffer). */
  readonly size?: number;
}

/** One kernel launch. */
export interface DispatchCommand {
  /** The kernel: its pipeline is taken from (or built into) the pipeline cache by `shader.key`. */
  readonly shader: ShaderSpec;
  /** Words of the kernel's `Params` uniform struct (see `Uniforms`). */
  readonly uniforms: Uint32Array;
  /** Storage buffers in the order of `shader.storage`. */
  readonly buffers: readonly BufferBinding[];
  /** Workgroup counts (x, y, z); each ≤ 65535 (use `linearGrid`). */
  readonly workgroups: readonly [number, number?, number?];
  /**
   * Set by kernels whose uniforms depend on the step's position (RoPE, cache writes, attention): the position the
   * `uniforms` were built for and how to build them for another. A captured step rebuilds them for each run, so the
   * workgroup counts and bound buffers must not depend on the position.
   */
  readonly position?: {
    /** The position `uniforms` were built for. */
    readonly firstPosition: number;
    /** The uniform words for a step at `firstPosition`. */
    readonly uniforms: (firstPosition: number) => Uint32Array;
  };
}

const BIND_GROUP_CACHE_LIMIT = 16384;
/** Dispatches per submission within a step (see `Recorder.submitEvery`). */
const DEFAULT_SUBMIT_EVERY = 64;

/**
 * Records the commands of a step into a command encoder (compute passes, copies, clears) and submits them on
 * {@link Recorder.submit} (called by `read`/`flush`, and every `submitEvery` dispatches so that the GPU works while the
 * rest of a long step is recorded). Uniforms go to a per-batch arena with dynamic offsets; bind groups
 * are cached by pipeline, buffers and uniform slab, so a repeated decode step reuses them all.
 */
export class Recorder {
  /** Number of the batch being recorded; buffers bound in it carry this in `lastBatch`. */
  batch = 0;
  /** Dispatches recorded in the current batch. */
  dispatches = 0;
  /**
   * Submits the batch once it holds this many dispatches, so the GPU starts on the first layers of a step while the
   * rest is recorded (queue order keeps the results unchanged). `Infinity`: one submission per `read`/`flush`.
   */
  submitEvery = DEFAULT_SUBMIT_EVERY;
  /** While a step is being captured: dispatches, copies and clears go into it instead of the encoder. */
  capture: StepRecording | undefined;
  /** While set (benchmarks): each dispatch recorded runs in a pass of its own between two timestamps of the timer. */
  timer: DispatchTimer | undefined;
  private encoder: GPUCommandEncoder | undefined;
  private pass: GPUComputePassEncoder | undefined;
  private readonly arena: UniformArena;
  /** Bind groups by pipeline, then by slab and bound buffer ranges. */
  private readonly bindGroups = new Map<CachedPipeline, Map<string, GPUBindGroup>>();
  private bindGroupCount = 0;
  /** Pipeline last set on the open compute pass. */
  private passPipeline: GPUComputePipeline | undefined;
  /** The one dynamic offset of `setBindGroup`, reused. */
  private readonly dynamicOffset = [0];
  private readonly submitted: (() => void)[] = [];

  constructor(
    private readonly device: GPUDevice,
    private readonly pipelines: PipelineCache,
    private readonly errors: ErrorTracker,
  ) {
    this.arena = new UniformArena(device, device.limits.minUniformBufferOffsetAlignment);
  }

  /** True when commands wait for submission. */
  get pending(): boolean {
    return this.encoder !== undefined;
  }

  /** Records one dispatch. */
  dispatch(command: DispatchCommand): void {
    this.errors.assertAlive();
    const cached = this.pipelines.get(command.shader);
    const buffers = command.buffers;
    if (buffers.length !== command.shader.storage.length) {
      throw new RangeError(
        `${command.shader.key}: ${buffers.length} buffers for ${command.shader.storage.length} bindings`,
      );
    }
    if (this.capture !== undefined) {
      this.capture.dispatch(cached, command);
      return;
    }
    const offset = this.arena.allocate(command.uniforms);
    const slab = this.arena.slab;
    // Bind groups are cached per pipeline by the slab and the bound ranges (numbers only: no shader key in the string).
    let key = `${slab.id}`;
    for (let index = 0; index < buffers.length; index++) {
      const binding = buffers[index]!;
      const tracked = binding.tracked;
      key +=
        binding.offset === undefined && binding.size === undefined
          ? `|${tracked.id}`
          : `|${tracked.id}:${binding.offset ?? 0}:${binding.size ?? -1}`;
      tracked.lastBatch = this.batch;
    }
    let groups = this.bindGroups.get(cached);
    if (groups === undefined) {
      groups = new Map();
      this.bindGroups.set(cached, groups);
    }
    let bindGroup = groups.get(key);
    if (bindGroup === undefined) {
      const entries: GPUBindGroupEntry[] = [
        { binding: 0, resource: { buffer: slab.buffer, offset: 0, size: MAX_UNIFORM_BYTES } },
      ];
      buffers.forEach((binding, index) => {
        const resource: GPUBufferBinding = { buffer: binding.tracked.buffer, offset: binding.offset ?? 0 };
        if (binding.size !== undefined) resource.size = binding.size;
        entries.push({ binding: index + 1, resource });
      });
      if (++this.bindGroupCount > BIND_GROUP_CACHE_LIMIT) this.forgetBindGroups();
      bindGroup = this.device.createBindGroup({ layout: cached.layout, entries });
      groups.set(key, bindGroup);
    }
    const timestampWrites = this.timer?.next(command.shader.key);
    if (timestampWrites !== undefined) this.endPass();
    const pass = this.computePass(timestampWrites);
    if (this.passPipeline !== cached.pipeline) {
      pass.setPipeline(cached.pipeline);
      this.passPipeline = cached.pipeline;
    }
    this.dynamicOffset[0] = offset;
    pass.setBindGroup(0, bindGroup, this.dynamicOffset);
    const workgroups = command.workgroups;
    pass.dispatchWorkgroups(workgroups[0], workgroups[1] ?? 1, workgroups[2] ?? 1);
    if (timestampWrites !== undefined) this.endPass();
    if (++this.dispatches >= this.submitEvery) this.submit();
  }

  /** Records a buffer-to-buffer copy (byte offsets and size multiples of 4). */
  copy(source: TrackedBuffer, sourceOffset: number, target: TrackedBuffer, targetOffset: number, size: number): void {
    if (this.capture !== undefined) {
      this.capture.copy(source, sourceOffset, target, targetOffset, size);
      return;
    }
    const encoder = this.commandEncoder();
    source.lastBatch = this.batch;
    target.lastBatch = this.batch;
    encoder.copyBufferToBuffer(source.buffer, sourceOffset, target.buffer, targetOffset, size);
  }

  /** Records zero-filling `size` bytes from `offset`. */
  clear(target: TrackedBuffer, offset: number, size: number): void {
    if (this.capture !== undefined) {
      this.capture.clear(target, offset, size);
      return;
    }
    const encoder = this.commandEncoder();
    target.lastBatch = this.batch;
    encoder.clearBuffer(target.buffer, offset, size);
  }

  /**
   * Writes host data into a buffer in recording order. A buffer that recorded commands of this batch use goes through
   * a staging copy (a plain `queue.writeBuffer` would land before those commands); any other takes `writeBuffer`.
   */
  write(target: TrackedBuffer, offset: number, data: ArrayBufferView): void {
    this.refuseWhileCapturing('upload host data');
    const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
    const size = Math.ceil(bytes.byteLength / 4) * 4;
    if (size === 0) return;
    if (target.lastBatch !== this.batch || !this.pending) {
      if (size === bytes.byteLength)
        this.device.queue.writeBuffer(target.buffer, offset, bytes as Uint8Array<ArrayBuffer>);
      else {
        const padded = new Uint8Array(size);
        padded.set(bytes);
        this.device.queue.writeBuffer(target.buffer, offset, padded);
      }
      return;
    }
    const staging = this.device.createBuffer({ size, usage: GPUBufferUsage.COPY_SRC, mappedAtCreation: true });
    const mapped = new Uint8Array(staging.getMappedRange());
    mapped.set(bytes);
    // The padding is written too: with Dawn's `disable_lazy_clear_for_mapped_at_creation_buffer` it is not zeroed.
    mapped.fill(0, bytes.byteLength);
    staging.unmap();
    this.commandEncoder().copyBufferToBuffer(staging, 0, target.buffer, offset, size);
    this.submitted.push(() => staging.destroy());
  }

  /** Ends the open compute pass and returns the encoder (for copies). */
  commandEncoder(): GPUCommandEncoder {
    this.endPass();
    if (this.encoder === undefined) this.encoder = this.device.createCommandEncoder();
    return this.encoder;
  }

  /**
   * Encodes the commands of a captured step (see `StepRecording`), submitting every `submitEvery` dispatches as
   * {@link Recorder.dispatch} does. The caller has written the step's inputs and position uniforms before.
   */
  replay(commands: readonly ReplayCommand[]): void {
    this.errors.assertAlive();
    for (const command of commands) {
      if (command.kind === 'dispatch') {
        const pass = this.computePass();
        if (this.passPipeline !== command.pipeline) {
          pass.setPipeline(command.pipeline);
          this.passPipeline = command.pipeline;
        }
        pass.setBindGroup(0, command.bindGroup, command.dynamicOffsets, 0, 1);
        pass.dispatchWorkgroups(command.x, command.y, command.z);
        if (++this.dispatches >= this.submitEvery) this.submit();
      } else if (command.kind === 'copy') {
        this.commandEncoder().copyBufferToBuffer(
          command.source,
          command.sourceOffset,
          command.target,
          command.targetOffset,
          command.size,
        );
      } else {
        this.commandEncoder().clearBuffer(command.target, command.offset, command.size);
      }
    }
  }

  /** Throws `STEP_CAPTURE` while a step is being captured: `what` cannot be part of a replayed step. */
  refuseWhileCapturing(what: string): void {
    if (this.capture === undefined) return;
    throw this.capture.refuse(
      `A captured step cannot ${what}: it would happen once, not on every replay. Compute it on the device inside the step, or run the step eagerly.`,
    );
  }

  /** Submits the batch (uniforms first) and starts the next one. */
  submit(): void {
    this.refuseWhileCapturing('read tensors back or wait for the device');
    const encoder = this.encoder;
    if (encoder === undefined) return;
    this.endPass();
    this.encoder = undefined;
    this.errors.capture('a recorded step', () => {
      this.arena.upload();
      this.device.queue.submit([encoder.finish()]);
    });
    this.batch++;
    this.dispatches = 0;
    for (const callback of this.submitted.splice(0)) callback();
  }

  /** Runs `callback` right after the current batch is submitted (destroying buffers its commands use). */
  afterSubmit(callback: () => void): void {
    if (this.pending) this.submitted.push(callback);
    else callback();
  }

  /** Forgets cached bind groups (after buffers were destroyed). */
  forgetBindGroups(): void {
    this.bindGroups.clear();
    this.bindGroupCount = 0;
  }

  /** The open compute pass, or a new one (with `timestampWrites` when given). */
  private computePass(timestampWrites?: GPUComputePassTimestampWrites): GPUComputePassEncoder {
    if (this.pass === undefined) {
      if (this.encoder === undefined) this.encoder = this.device.createCommandEncoder();
      this.pass = this.encoder.beginComputePass(timestampWrites === undefined ? undefined : { timestampWrites });
      this.passPipeline = undefined;
    }
    return this.pass;
  }

  /** Ends the open compute pass, if any. */
  private endPass(): void {
    if (this.pass === undefined) return;
    this.pass.end();
    this.pass = undefined;
    this.passPipeline = undefined;
  }
}
