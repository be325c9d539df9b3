import { createTrackedBuffer, type TrackedBuffer } from './buffer-pool.js';
import { MAX_UNIFORM_BYTES } from './shader.js';

const SLAB_BYTES = 256 * 1024;

/**
 * Per-batch uniform storage. Each dispatch gets its own aligned slot; the host copies are written to the GPU with one
 * `writeBuffer` per slab just before the batch is submitted, so they land before the batch runs and after every
 * earlier batch (queue order). Slabs are reused by the next batch. {@link UniformArena.allocate} returns the slot's byte
 * offset and leaves its slab in {@link UniformArena.slab} (no object per dispatch).
 */
export class UniformArena {
  private readonly slabs: { tracked: TrackedBuffer; host: Uint32Array }[] = [];
  private slabIndex = 0;
  private offset = 0;
  private readonly stride: number;
  /** The slab of the slot {@link UniformArena.allocate} returned last. */
  slab!: TrackedBuffer;

  constructor(
    private readonly device: GPUDevice,
    alignment: number,
  ) {
    this.stride = Math.ceil(MAX_UNIFORM_BYTES / alignment) * alignment;
  }

  /** Reserves a slot, copies the uniform words into its host image and returns its byte offset (slab in `slab`). */
  allocate(words: Uint32Array): number {
    if (this.offset + this.stride > SLAB_BYTES) {
      this.slabIndex++;
      this.offset = 0;
    }
    let slab = this.slabs[this.slabIndex];
    if (slab === undefined) {
      const tracked = createTrackedBuffer(
        this.device,
        SLAB_BYTES,
        GPUBufferUsage.UNIFORM | GPUBufferUsage.COPY_DST,
        `uniforms:${this.slabIndex}`,
      );
      slab = { tracked, host: new Uint32Array(SLAB_BYTES / 4) };
      this.slabs.push(slab);
    }
    const offset = this.offset;
    slab.host.set(words, offset >>> 2);
    this.offset += this.stride;
    this.slab = slab.tracked;
    return offset;
  }

  /** Writes the used part of every slab to the GPU and starts a new batch. */
  upload(): void {
    for (let index = 0; index <= this.slabIndex && index < this.slabs.length; index++) {
      const slab = this.slabs[index]!;
      const used = index < this.slabIndex ? SLAB_BYTES : this.offset;
      if (used > 0)
        this.device.queue.writeBuffer(slab.tracked.buffer, 0, slab.host as Uint32Array<ArrayBuffer>, 0, used >>> 2);
    }
    this.slabIndex = 0;
    this.offset = 0;
  }
}
