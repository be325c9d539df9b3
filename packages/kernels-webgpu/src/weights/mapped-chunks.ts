import { settleReads, type WeightByteReader } from '@strata/core';
import { createTrackedBuffer } from '../runtime/buffer-pool.js';
import type { WeightChunk } from './gpu-weight.js';
import { countUploadedBytes } from './upload-drain.js';

/** Bytes of one read of a mapped upload: a chunk is read as slices of this size, several at a time. */
const SLICE_BYTES = 16 * 1024 * 1024;

/** Slices read at once (Node reads files on a pool of four threads; a browser source fetches ranges in parallel). */
const SLICES_IN_FLIGHT = 4;

/** Where one chunk of a weight goes: its rows and bytes, and the size of its buffer (padded, see `uploadWeight`). */
export interface ChunkLayout {
  /** Index of the chunk's first row. */
  readonly firstRow: number;
  /** Rows in the chunk. */
  readonly rows: number;
  /** Bytes of data. */
  readonly byteLength: number;
  /** Bytes of the buffer. */
  readonly size: number;
}

/**
 * Uploads a weight's chunks by reading its bytes straight into buffers mapped at creation: each chunk's buffer is
 * created mapped, filled by {@link SLICES_IN_FLIGHT} parallel reads of {@link SLICE_BYTES}, and unmapped (the device
 * then copies it in, with no copy on the host in between). One chunk is mapped at a time, so the host holds at most one
 * chunk beyond what the queue is still copying. On a failed read every buffer made so far is destroyed and the first
 * error is thrown, once every read in flight has settled (none may write into a buffer after it is unmapped).
 */
export async function uploadMappedChunks(
  device: GPUDevice,
  layouts: readonly ChunkLayout[],
  reader: WeightByteReader,
  usage: GPUBufferUsageFlags,
  label: string,
): Promise<WeightChunk[]> {
  const chunks: WeightChunk[] = [];
  let firstByte = 0;
  try {
    for (const layout of layouts) {
      const tracked = createTrackedBuffer(device, layout.size, usage, `${label}[${chunks.length}]`, true);
      chunks.push({ tracked, firstRow: layout.firstRow, rows: layout.rows, byteLength: layout.byteLength });
      try {
        const mapped = new Uint8Array(tracked.buffer.getMappedRange(0, layout.size));
        // The padding after the data is zeroed here, so nothing depends on the device clearing mapped buffers.
        mapped.fill(0, layout.byteLength);
        await readSlices(reader, firstByte, mapped.subarray(0, layout.byteLength));
      } finally {
        tracked.buffer.unmap();
      }
      firstByte += layout.byteLength;
      await countUploadedBytes(device, layout.byteLength);
    }
  } catch (error) {
    for (const chunk of chunks) chunk.tracked.buffer.destroy();
    throw error;
  }
  return chunks;
}

/** Fills `target` from `reader` at `offset` in slices, a few in flight at once; settles only when every read has. */
async function readSlices(reader: WeightByteReader, offset: number, target: Uint8Array): Promise<void> {
  let next = 0;
  const readers = Math.min(SLICES_IN_FLIGHT, Math.ceil(target.byteLength / SLICE_BYTES));
  const worker = async (): Promise<void> => {
    while (next < target.byteLength) {
      const start = next;
      next = Math.min(start + SLICE_BYTES, target.byteLength);
      await reader.readInto(offset + start, target.subarray(start, next));
    }
  };
  await settleReads(Array.from({ length: readers }, worker));
}
