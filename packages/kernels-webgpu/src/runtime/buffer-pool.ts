/** A GPU buffer with the bookkeeping the runtime needs: a stable id (bind-group keys) and its last recorded use. */
export interface TrackedBuffer {
  /** The WebGPU buffer (activations: `ACTIVATION_USAGE`; weights and uniform slabs: their own usages). */
  readonly buffer: GPUBuffer;
  /** Allocated size in bytes (the size class). */
  readonly size: number;
  /** Unique per buffer; bind groups are cached by these ids. */
  readonly id: number;
  /** Number of the recording batch that last bound this buffer (see Recorder); host writes must not race it. */
  lastBatch: number;
}

let nextBufferId = 1;

/** Creates a tracked buffer outside the pool (weights, uniform arenas), mapped for the host's writes when asked. */
export function createTrackedBuffer(
  device: GPUDevice,
  size: number,
  usage: GPUBufferUsageFlags,
  label?: string,
  mappedAtCreation = false,
): TrackedBuffer {
  const buffer = device.createBuffer({
    size,
    usage,
    ...(label === undefined ? {} : { label }),
    ...(mappedAtCreation ? { mappedAtCreation } : {}),
  });
  return { buffer, size, id: nextBufferId++, lastBatch: -1 };
}

/** Usage of every activation buffer. */
export const ACTIVATION_USAGE = 0x80 | 0x08 | 0x04; // STORAGE | COPY_DST | COPY_SRC

const MINIMUM_CLASS = 256;

/**
 * Rounds a byte size up to its size class: powers of two split into four steps (waste ≤ 25%), at least 256 bytes.
 */
export function sizeClass(bytes: number): number {
  if (bytes <= MINIMUM_CLASS) return MINIMUM_CLASS;
  const octave = 2 ** Math.floor(Math.log2(bytes - 1));
  const step = octave / 4;
  return Math.ceil(bytes / step) * step;
}

/**
 * Pool of activation buffers by size class. `release` puts a buffer back at once: reuse inside one recorded stream is
 * safe because dispatches run in order. Only host writes (`queue.writeBuffer`) must avoid buffers that recorded but
 * unsubmitted commands use — the Recorder checks `lastBatch` for that.
 */
export class BufferPool {
  private readonly free = new Map<number, TrackedBuffer[]>();
  private freeBytes = 0;
  private liveBytes = 0;
  /** Every buffer this pool created, when it owns them (a step plan's pool); see {@link BufferPool.destroy}. */
  private readonly created: TrackedBuffer[] | undefined;

  /** `owned`: the pool remembers every buffer it creates so that {@link BufferPool.destroy} frees them all. */
  constructor(
    private readonly device: GPUDevice,
    options: { readonly owned?: boolean } = {},
  ) {
    this.created = options.owned === true ? [] : undefined;
  }

  /** A buffer of at least `bytes` bytes (contents undefined). */
  acquire(bytes: number): TrackedBuffer {
    const size = sizeClass(bytes);
    const list = this.free.get(size);
    const reused = list?.pop();
    if (reused !== undefined) {
      this.freeBytes -= size;
      this.liveBytes += size;
      return reused;
    }
    this.liveBytes += size;
    const created = createTrackedBuffer(this.device, size, ACTIVATION_USAGE);
    this.created?.push(created);
    return created;
  }

  /** Destroys every buffer an owning pool created, in use or not (a step plan's end); the pool is empty afterwards. */
  destroy(): void {
    for (const tracked of this.created?.splice(0) ?? []) tracked.buffer.destroy();
    this.free.clear();
    this.freeBytes = 0;
    this.liveBytes = 0;
  }

  /** Returns a buffer to its class. */
  release(tracked: TrackedBuffer): void {
    let list = this.free.get(tracked.size);
    if (list === undefined) {
      list = [];
      this.free.set(tracked.size, list);
    }
    list.push(tracked);
    this.freeBytes += tracked.size;
    this.liveBytes -= tracked.size;
  }

  /** Destroys every free buffer; returns their ids so caches can forget them. */
  trim(): number[] {
    const ids: number[] = [];
    for (const list of this.free.values()) {
      for (const tracked of list) {
        ids.push(tracked.id);
        tracked.buffer.destroy();
      }
    }
    this.free.clear();
    this.freeBytes = 0;
    return ids;
  }

  /** Bytes in use and bytes held free. */
  stats(): { liveBytes: number; freeBytes: number } {
    return { liveBytes: this.liveBytes, freeBytes: this.freeBytes };
  }
}
