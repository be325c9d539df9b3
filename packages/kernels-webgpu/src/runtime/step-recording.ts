import { StrataError } from '@strata/core';
import { BufferPool, createTrackedBuffer, type TrackedBuffer } from './buffer-pool.js';
import type { CachedPipeline } from './pipeline-cache.js';
import type { BufferBinding, DispatchCommand } from './recorder.js';
import { MAX_UNIFORM_BYTES } from './shader.js';

/** A dispatch of a recorded step, ready to encode: everything but the dynamic offset is fixed. */
export interface ReplayDispatch {
  /** Discriminates the command kinds. */
  readonly kind: 'dispatch';
  /** The kernel's `ShaderSpec.key` (profiles group dispatches by it). */
  readonly key: string;
  /** The compute pipeline. */
  readonly pipeline: GPUComputePipeline;
  /** Its bind group (uniform slot and storage buffers). */
  readonly bindGroup: GPUBindGroup;
  /** The one dynamic offset of the uniform binding (a typed array: the cheaper `setBindGroup` form). */
  readonly dynamicOffsets: Uint32Array;
  /** Workgroup counts. */
  readonly x: number;
  /** Workgroup counts. */
  readonly y: number;
  /** Workgroup counts. */
  readonly z: number;
}

/** A buffer copy of a recorded step. */
export interface ReplayCopy {
  /** Discriminates the command kinds. */
  readonly kind: 'copy';
  /** Source buffer. */
  readonly source: GPUBuffer;
  /** Source byte offset. */
  readonly sourceOffset: number;
  /** Target buffer. */
  readonly target: GPUBuffer;
  /** Target byte offset. */
  readonly targetOffset: number;
  /** Bytes copied. */
  readonly size: number;
}

/** A zero fill of a recorded step. */
export interface ReplayClear {
  /** Discriminates the command kinds. */
  readonly kind: 'clear';
  /** Target buffer. */
  readonly target: GPUBuffer;
  /** First byte. */
  readonly offset: number;
  /** Bytes cleared. */
  readonly size: number;
}

/** One command of a recorded step. */
export type ReplayCommand = ReplayDispatch | ReplayCopy | ReplayClear;

interface PendingDispatch {
  readonly kind: 'pending-dispatch';
  readonly pipeline: CachedPipeline;
  readonly buffers: readonly BufferBinding[];
  readonly workgroups: readonly [number, number?, number?];
  /** Slot in the static or the dynamic uniform area. */
  readonly slot: number;
  readonly dynamic: boolean;
}

/** A uniform slot rebuilt for each run from the run's position. */
interface PositionedSlot {
  readonly slot: number;
  /** The dispatch's first position minus the position the step was captured at. */
  readonly relative: number;
  readonly uniforms: (firstPosition: number) => Uint32Array;
}

/** What {@link StepRecording.finish} returns: the commands to replay and the per-run uniform update. */
export interface CompiledStep {
  /** Commands in recording order. */
  readonly commands: readonly ReplayCommand[];
  /** Uniform slots that depend on the position; empty when none does. */
  readonly dynamicUniforms: TrackedBuffer | undefined;
  /**
   * Rebuilds the position-dependent uniform words for a run at `firstPosition` (the capture's position maps to the
   * one captured) and returns the host image to write into {@link CompiledStep.dynamicUniforms}.
   */
  uniformsAt(firstPosition: number): Uint32Array;
  /** Frees the uniform buffers (the pool is freed by its owner). */
  destroy(): void;
}

/**
 * The commands of one step while it is being captured: dispatches with their uniforms (position-dependent ones in a
 * separate area rewritten each run), copies and clears, and a pool that owns every activation the step allocates.
 * Bind groups are made when the recording is finished, once the uniform buffers exist.
 */
export class StepRecording {
  /** Activations allocated while capturing come from (and stay in) this pool. */
  readonly pool: BufferPool;
  private readonly pending: (PendingDispatch | ReplayCopy | ReplayClear)[] = [];
  private readonly staticWords: Uint32Array[] = [];
  private readonly dynamicWords: Uint32Array[] = [];
  private readonly positioned: PositionedSlot[] = [];
  private readonly stride: number;

  constructor(
    private readonly device: GPUDevice,
    /** Position the step is captured at. */
    readonly basePosition: number,
  ) {
    this.pool = new BufferPool(device, { owned: true });
    const alignment = device.limits.minUniformBufferOffsetAlignment;
    this.stride = Math.ceil(MAX_UNIFORM_BYTES / alignment) * alignment;
  }

  /** The first refusal (see {@link StepRecording.refuse}); the capture fails with it even if the body caught it. */
  failure: StrataError | undefined;

  /** Makes the `STEP_CAPTURE` error for an operation a captured step cannot contain, and remembers the first. */
  refuse(message: string): StrataError {
    const error = new StrataError('STEP_CAPTURE', message);
    this.failure ??= error;
    return error;
  }

  /** Records a dispatch whose pipeline is already built. */
  dispatch(pipeline: CachedPipeline, command: DispatchCommand): void {
    const position = command.position;
    const dynamic = position !== undefined;
    const words = dynamic ? this.dynamicWords : this.staticWords;
    const slot = words.length;
    words.push(command.uniforms.slice());
    if (position !== undefined) {
      this.positioned.push({
        slot,
        relative: position.firstPosition - this.basePosition,
        uniforms: position.uniforms,
      });
    }
    this.pending.push({
      kind: 'pending-dispatch',
      pipeline,
      buffers: command.buffers.slice(),
      workgroups: command.workgroups,
      slot,
      dynamic,
    });
  }

  /** Records a copy. */
  copy(source: TrackedBuffer, sourceOffset: number, target: TrackedBuffer, targetOffset: number, size: number): void {
    this.pending.push({ kind: 'copy', source: source.buffer, sourceOffset, target: target.buffer, targetOffset, size });
  }

  /** Records a zero fill. */
  clear(target: TrackedBuffer, offset: number, size: number): void {
    this.pending.push({ kind: 'clear', target: target.buffer, offset, size });
  }

  /** Creates the uniform buffers and bind groups and returns the step ready to replay. */
  finish(): CompiledStep {
    const { device, stride } = this;
    const wordsPerSlot = stride / 4;
    const area = (slots: readonly Uint32Array[], label: string) => {
      if (slots.length === 0) return undefined;
      const host = new Uint32Array(slots.length * wordsPerSlot);
      for (const [slot, words] of slots.entries()) host.set(words, slot * wordsPerSlot);
      const tracked = createTrackedBuffer(
        device,
        host.byteLength,
        GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        label,
      );
      device.queue.writeBuffer(tracked.buffer, 0, host);
      return { tracked, host };
    };
    const fixed = area(this.staticWords, 'step-plan:uniforms');
    const moving = area(this.dynamicWords, 'step-plan:position-uniforms');
    const commands: ReplayCommand[] = this.pending.map((command) => {
      if (command.kind !== 'pending-dispatch') return command;
      const uniforms = (command.dynamic ? moving : fixed)!.tracked.buffer;
      const entries: GPUBindGroupEntry[] = [
        { binding: 0, resource: { buffer: uniforms, offset: 0, size: MAX_UNIFORM_BYTES } },
      ];
      command.buffers.forEach((binding, index) => {
        const resource: GPUBufferBinding = { buffer: binding.tracked.buffer, offset: binding.offset ?? 0 };
        if (binding.size !== undefined) resource.size = binding.size;
        entries.push({ binding: index + 1, resource });
      });
      const [x, y = 1, z = 1] = command.workgroups;
      return {
        kind: 'dispatch',
        key: command.pipeline.key,
        pipeline: command.pipeline.pipeline,
        bindGroup: device.createBindGroup({ layout: command.pipeline.layout, entries }),
        dynamicOffsets: Uint32Array.of(command.slot * stride),
        x,
        y,
        z,
      };
    });
    const positioned = this.positioned;
    const empty = new Uint32Array(0);
    return {
      commands,
      dynamicUniforms: moving?.tracked,
      uniformsAt(firstPosition) {
        if (moving === undefined) return empty;
        for (const entry of positioned)
          moving.host.set(entry.uniforms(firstPosition + entry.relative), entry.slot * wordsPerSlot);
        return moving.host;
      },
      destroy() {
        fixed?.tracked.buffer.destroy();
        moving?.tracked.buffer.destroy();
      },
    };
  }
}
