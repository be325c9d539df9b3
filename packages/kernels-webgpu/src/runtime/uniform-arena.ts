import { createTrackedBuffer, type TrackedBuffer } from './buffer-pool.js';
import { MAX_UNIFORM_BYTES } from './shader.js';

const SLAB_BYTES = 256 * 1024;

/** Where one dispatch's uniforms live: a slab of the arena and a dynamic offset into it. */
export interface UniformSlot {
  /** The uniform buffer (256 KiB slab) holding this dispatch's `Params` words. */
  readonly slab: TrackedBuffer;
  /** Byte offset of the slot in the slab: the dynamic offset of binding 0 (a multiple of the uniform alignment). */
  readonly offset: number;
}

/**
 * Per-batch uniform storage. Each dispatch gets its own aligned slot; the host copies are written to the GPU with one
 * `writeBuffer` per slab just before the batch is submitted, so they land before the batch runs and after every
 * earlier batch (queue order). Slabs are reused by the next batch.
 */
export class UniformArena {
  private readonly slabs: { tracked: TrackedBuffer; host: Uint8Array }[] = [];
  private slabIndex = 0;
  private offset = 0;
  private readonly stride: number;

  constructor(
    private readonly device: GPUDevice,
    alignment: number,
  ) {
    this.stride = Math.ceil(MAX_UNIFORM_BYTES / alignment) * alignment;
  }

  /** Reserves a slot and copies the uniform words into its host image. */
  allocate(words: Uint32Array): UniformSlot {
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
      slab = { tracked, host: new Uint8Array(SLAB_BYTES) };
      this.slabs.push(slab);
    }
    const offset = this.offset;
    slab.host.set(new Uint8Array(words.buffer, words.byteOffset, words.byteLength), offset);
    this.offset += this.stride;
    return { slab: slab.tracked, offset };
  }

  /** Writes the used part of every slab to the GPU and starts a new batch. */
  upload(): void {
    for (let index = 0; index <= this.slabIndex && index < this.slabs.length; index++) {
      const slab = this.slabs[index]!;
      const used = index < this.slabIndex ? SLAB_BYTES : this.offset;
      if (used > 0)
        this.device.queue.writeBuffer(slab.tracked.buffer, 0, slab.host as Uint8Array<ArrayBuffer>, 0, used);
    }
    this.slabIndex = 0;
    this.offset = 0;
  }
}
