import { StrataError } from '@strata/core';

/** Most dispatches one timer takes: WebGPU query sets hold at most 4096 queries, two per dispatch. */
export const MAX_TIMED_DISPATCHES = 2048;

/** One timed dispatch: its kernel's `ShaderSpec.key` and its GPU time. */
export interface TimedDispatch {
  /** The kernel's shader key. */
  readonly key: string;
  /** GPU nanoseconds between the start and the end of its pass. */
  readonly nanoseconds: number;
}

/**
 * Times the dispatches a `Recorder` records while it is set as the recorder's `timer` (benchmarks: where the GPU time of
 * an eagerly recorded step goes). Each timed dispatch runs in a compute pass of its own with a timestamp at both ends,
 * which adds a little per dispatch; past `capacity` dispatches the rest run untimed. Needs the `timestamp-query`
 * feature. Its query set and buffers are freed by {@link DispatchTimer.read}, which ends it.
 */
export class DispatchTimer {
  private readonly keys: string[] = [];
  private readonly querySet: GPUQuerySet;

  constructor(
    private readonly device: GPUDevice,
    /** Most dispatches timed: 1 to {@link MAX_TIMED_DISPATCHES}. */
    readonly capacity: number,
  ) {
    if (!Number.isInteger(capacity) || capacity < 1 || capacity > MAX_TIMED_DISPATCHES) {
      throw new StrataError(
        'INVALID_ARGUMENT',
        `A dispatch timer times 1 to ${MAX_TIMED_DISPATCHES} dispatches (two timestamps each in one query set); got ${capacity}.`,
      );
    }
    this.querySet = device.createQuerySet({ type: 'timestamp', count: 2 * capacity });
  }

  /** Dispatches timed so far. */
  get count(): number {
    return this.keys.length;
  }

  /** The timestamp writes of the next dispatch of kernel `key`, or undefined once `capacity` are timed. */
  next(key: string): GPUComputePassTimestampWrites | undefined {
    if (this.keys.length >= this.capacity) return undefined;
    const index = this.keys.length;
    this.keys.push(key);
    return { querySet: this.querySet, beginningOfPassWriteIndex: 2 * index, endOfPassWriteIndex: 2 * index + 1 };
  }

  /**
   * The timings, in recording order, once the recorded work has been submitted (call it after the step's reads or a
   * flush): resolves the queries on the device, reads them back and frees the timer's GPU objects.
   */
  async read(): Promise<TimedDispatch[]> {
    const count = this.keys.length;
    if (count === 0) {
      this.querySet.destroy();
      return [];
    }
    const bytes = 16 * count;
    const resolved = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.QUERY_RESOLVE | GPUBufferUsage.COPY_SRC,
    });
    const readBack = this.device.createBuffer({
      size: bytes,
      usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST,
    });
    try {
      const encoder = this.device.createCommandEncoder();
      encoder.resolveQuerySet(this.querySet, 0, 2 * count, resolved, 0);
      encoder.copyBufferToBuffer(resolved, 0, readBack, 0, bytes);
      this.device.queue.submit([encoder.finish()]);
      await readBack.mapAsync(GPUMapMode.READ);
      const stamps = new BigUint64Array(readBack.getMappedRange().slice(0));
      readBack.unmap();
      return this.keys.map((key, index) => ({
        key,
        nanoseconds: Math.max(0, Number(stamps[2 * index + 1]! - stamps[2 * index]!)),
      }));
    } finally {
      resolved.destroy();
      readBack.destroy();
      this.querySet.destroy();
    }
  }
}
