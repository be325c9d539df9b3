import { StrataError } from '@strata/core';

/**
 * Random-access bytes of one file, wherever it lives (memory, a browser `Blob`, an HTTP server, a local file).
 * Readers ask for exactly the ranges they need; nothing reads a whole model into memory.
 */
export interface ByteSource {
  /** A name for error messages (a file name, a URL). */
  readonly name: string;
  /** Total size in bytes. */
  readonly byteLength: number;
  /**
   * Reads `length` bytes starting at `offset`. Resolves to exactly `length` bytes; a range past the end rejects with
   * `TRUNCATED_FILE`.
   */
  read(offset: number, length: number): Promise<Uint8Array>;
  /**
   * Fills `target` with the `target.byteLength` bytes at `offset`, allocating nothing (sources that can: the model
   * cache's stores, local files). Callers fall back to {@link ByteSource.read} where a source has none.
   */
  readInto?(offset: number, target: Uint8Array): Promise<void>;
}

/** Fills `target` from `source` at `offset`: with its `readInto` when it has one, else a read and a copy. */
export async function readIntoFrom(source: ByteSource, offset: number, target: Uint8Array): Promise<void> {
  if (source.readInto !== undefined) await source.readInto(offset, target);
  else target.set(await source.read(offset, target.byteLength));
}

/**
 * Checks a read request against a source's size: `INVALID_ARGUMENT` for negative or fractional numbers,
 * `TRUNCATED_FILE` for a range that ends past the end. Every ByteSource calls it before reading.
 */
export function checkReadRange(name: string, byteLength: number, offset: number, length: number): void {
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(length) || offset < 0 || length < 0) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `Cannot read ${length} bytes at offset ${offset} of ${name}: offset and length must be non-negative integers.`,
      {
        details: { name, offset, length },
      },
    );
  }
  if (offset + length > byteLength) {
    throw new StrataError(
      'TRUNCATED_FILE',
      `${name} ends at byte ${byteLength} but ${length} bytes were needed at offset ${offset}; the file is truncated or damaged (download it again).`,
      { details: { name, offset, length, byteLength } },
    );
  }
}

/** A ByteSource over bytes already in memory (tests, generated files, small downloads). */
export function bytesSource(bytes: Uint8Array, name = 'bytes'): ByteSource {
  return {
    name,
    byteLength: bytes.byteLength,
    async read(offset, length) {
      checkReadRange(name, bytes.byteLength, offset, length);
      return bytes.subarray(offset, offset + length);
    },
  };
}

/**
 * A zeroed buffer for a read of `length` bytes; `OUT_OF_MEMORY` (instead of a bare RangeError) when the runtime cannot
 * allocate one that large, pointing at chunked reads.
 */
export function allocateBytes(length: number, name: string): Uint8Array {
  try {
    return new Uint8Array(length);
  } catch (cause) {
    throw new StrataError(
      'OUT_OF_MEMORY',
      `Cannot hold ${length} bytes of ${name} in one buffer; read it in chunks (TensorStore.streamBytes).`,
      {
        cause,
        details: { name, length },
      },
    );
  }
}
