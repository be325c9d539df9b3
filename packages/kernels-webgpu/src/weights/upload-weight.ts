import {
  elementCount,
  ggmlByteLength,
  ggmlTypeFromName,
  isWeightByteReader,
  StrataError,
  type WeightByteReader,
  type WeightBytes,
  type WeightDescriptor,
} from '@strata/core';
import { createTrackedBuffer, type TrackedBuffer } from '../runtime/buffer-pool.js';
import { GpuWeight, type WeightChunk } from './gpu-weight.js';
import { type ChunkLayout, uploadMappedChunks } from './mapped-chunks.js';
import { countUploadedBytes } from './upload-drain.js';

/** Limits that decide how a weight is split. */
export interface ChunkLimits {
  /** Largest bytes one chunk may hold (the device's `maxStorageBufferBindingSize`, or smaller for tests). */
  readonly maxChunkBytes: number;
}

/** Rows per chunk: as many whole rows as fit in `maxChunkBytes` (with the 4-byte tail padding). */
export function rowsPerChunk(rowBytes: number, rows: number, limits: ChunkLimits): number {
  const fit = Math.floor((Math.floor(limits.maxChunkBytes / 4) * 4 - 3) / rowBytes);
  if (fit < 1) {
    throw new StrataError(
      'OUT_OF_MEMORY',
      `One row of ${rowBytes} bytes does not fit a GPU storage binding of ${limits.maxChunkBytes} bytes.`,
      { details: { rowBytes, maxChunkBytes: limits.maxChunkBytes } },
    );
  }
  return Math.min(fit, rows);
}

/** Converts one F16 value (bits) to a number. */
function halfToFloat(bits: number): number {
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  const sign = bits & 0x8000 ? -1 : 1;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}

async function collect(bytes: WeightBytes, total: number): Promise<Uint8Array> {
  if (bytes instanceof Uint8Array) return bytes;
  const out = new Uint8Array(total);
  let offset = 0;
  for await (const piece of bytes) {
    out.set(piece.subarray(0, Math.max(0, total - offset)), offset);
    offset += piece.byteLength;
  }
  if (offset !== total) throw truncated(total, offset);
  return out;
}

function truncated(expected: number, got: number): StrataError {
  return new StrataError('SHAPE_MISMATCH', `Weight bytes: expected ${expected} bytes, got ${got}.`, {
    details: { expected, got },
  });
}

/**
 * Uploads a weight chunk by chunk, holding on the host nothing beyond the piece being written (when `bytes` is an async
 * iterable: each piece may be reused by its producer once the next is asked for). A {@link WeightByteReader} is read
 * straight into buffers mapped at creation, in parallel slices (`uploadMappedChunks`). Vectors of F32/F16/BF16 become
 * f32.
 */
export async function uploadWeight(
  device: GPUDevice,
  descriptor: WeightDescriptor,
  bytes: WeightBytes,
  limits: ChunkLimits,
): Promise<GpuWeight> {
  const type = ggmlTypeFromName(descriptor.type);
  const shape = [...descriptor.shape];
  if (shape.length === 0 || shape.some((size) => !Number.isSafeInteger(size) || size <= 0)) {
    throw new StrataError('SHAPE_MISMATCH', `Weight ${descriptor.name} has an invalid shape [${shape.join(', ')}].`);
  }
  const columns = shape[shape.length - 1]!;
  const count = elementCount(shape);
  const totalBytes = ggmlByteLength(type, count);
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_DST | GPUBufferUsage.COPY_SRC;
  const isFloatVector = shape.length === 1 && (type.name === 'F32' || type.name === 'F16' || type.name === 'BF16');

  if (isFloatVector) {
    const source = await collect(bytes, totalBytes);
    if (source.byteLength !== totalBytes) throw truncated(totalBytes, source.byteLength);
    const values = new Float32Array(count);
    const view = new DataView(source.buffer, source.byteOffset, source.byteLength);
    for (let index = 0; index < count; index++) {
      if (type.name === 'F32') values[index] = view.getFloat32(index * 4, true);
      else if (type.name === 'F16') values[index] = halfToFloat(view.getUint16(index * 2, true));
      else values[index] = new Float32Array(new Uint32Array([view.getUint16(index * 2, true) << 16]).buffer)[0]!;
    }
    rowsPerChunk(count * 4, 1, limits);
    const tracked = createTrackedBuffer(device, Math.max(16, count * 4), usage, descriptor.name);
    device.queue.writeBuffer(tracked.buffer, 0, values);
    const chunk: WeightChunk = { tracked, firstRow: 0, rows: 1, byteLength: count * 4 };
    return new GpuWeight(descriptor.name, descriptor.type, shape, 'F32', columns, 1, count * 4, [chunk]);
  }

  const rows = shape.length === 1 ? 1 : count / columns;
  const rowBytes = totalBytes / rows;
  let chunkRows = rowsPerChunk(rowBytes, rows, limits);
  // Expert stacks [experts, out, columns]: whole experts per chunk whenever one expert fits a binding.
  const expertRows = shape.length === 3 ? shape[1]! : 0;
  if (expertRows > 0 && chunkRows >= expertRows && chunkRows < rows) chunkRows -= chunkRows % expertRows;
  const layouts: ChunkLayout[] = [];
  for (let firstRow = 0; firstRow < rows; firstRow += chunkRows) {
    const chunkRowCount = Math.min(chunkRows, rows - firstRow);
    const byteLength = chunkRowCount * rowBytes;
    // One spare word: readers may fetch the word after an unaligned last value.
    const size = Math.max(16, Math.ceil(byteLength / 4) * 4 + 4);
    layouts.push({ firstRow, rows: chunkRowCount, byteLength, size });
  }
  let chunks: WeightChunk[];
  if (isWeightByteReader(bytes)) {
    if (bytes.byteLength !== totalBytes) throw truncated(totalBytes, bytes.byteLength);
    chunks = await uploadMappedChunks(device, layouts, bytes, usage, descriptor.name);
  } else {
    chunks = layouts.map((layout, index) => ({
      tracked: createTrackedBuffer(device, layout.size, usage, `${descriptor.name}[${index}]`),
      firstRow: layout.firstRow,
      rows: layout.rows,
      byteLength: layout.byteLength,
    }));
    const writer = new ChunkWriter(device, chunks);
    if (bytes instanceof Uint8Array) {
      if (bytes.byteLength !== totalBytes) throw truncated(totalBytes, bytes.byteLength);
      await writer.write(bytes);
    } else {
      for await (const piece of bytes) await writer.write(piece);
    }
    writer.finish(totalBytes);
  }
  return new GpuWeight(
    descriptor.name,
    descriptor.type,
    shape,
    type.name as typeof descriptor.type,
    columns,
    rows,
    rowBytes,
    chunks,
  );
}

/**
 * Streams bytes into consecutive chunk buffers. Runs of whole 4-byte words go to `writeBuffer` straight from the pieces
 * (the queue copies them during the call, so nothing is kept); only a word split between two pieces, or the unaligned
 * end of a chunk, passes through one 4-byte word. The host holds no copy of the weight and no staging window.
 */
class ChunkWriter {
  private chunkIndex = 0;
  /** Bytes of the current chunk taken so far (the last `wordUsed` of them wait in `word`). */
  private chunkOffset = 0;
  private readonly word = new Uint8Array(4);
  private wordUsed = 0;
  private written = 0;

  constructor(
    private readonly device: GPUDevice,
    private readonly chunks: readonly WeightChunk[],
  ) {}

  async write(piece: Uint8Array): Promise<void> {
    let position = 0;
    while (position < piece.byteLength) {
      const chunk = this.chunks[this.chunkIndex];
      if (chunk === undefined) throw truncated(this.written, this.written + piece.byteLength - position);
      const left = chunk.byteLength - this.chunkOffset;
      const available = piece.byteLength - position;
      let take: number;
      if (this.wordUsed === 0 && left >= 4 && available >= 4) {
        // chunkOffset is a multiple of 4 here: write every whole word of the run at once.
        const run = Math.min(left, available);
        take = run - (run % 4);
        writeAt(this.device, chunk.tracked, this.chunkOffset, piece.subarray(position, position + take));
        this.chunkOffset += take;
      } else {
        take = Math.min(4 - this.wordUsed, left, available);
        this.word.set(piece.subarray(position, position + take), this.wordUsed);
        this.wordUsed += take;
        this.chunkOffset += take;
        if (this.wordUsed === 4 || this.chunkOffset === chunk.byteLength) {
          this.word.fill(0, this.wordUsed);
          writeAt(this.device, chunk.tracked, this.chunkOffset - this.wordUsed, this.word);
          this.wordUsed = 0;
        }
      }
      position += take;
      this.written += take;
      if (this.chunkOffset === chunk.byteLength) {
        this.chunkIndex++;
        this.chunkOffset = 0;
      }
      await countUploadedBytes(this.device, take);
    }
  }

  /** Checks every byte came; the queue keeps the copies in order before any later use of the weight. */
  finish(total: number): void {
    if (this.written !== total) throw truncated(total, this.written);
  }
}

function writeAt(device: GPUDevice, tracked: TrackedBuffer, offset: number, data: Uint8Array): void {
  device.queue.writeBuffer(tracked.buffer, offset, data as Uint8Array<ArrayBuffer>);
}
