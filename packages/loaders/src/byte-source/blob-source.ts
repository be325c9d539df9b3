import { StrataError } from '@strata/core';
import { type ByteSource, checkReadRange } from './byte-source.js';

/** A ByteSource over a browser `File` or `Blob` (or Node's `Blob`): each read slices the blob, nothing else is loaded. */
export function blobSource(blob: Blob, name?: string): ByteSource {
  const sourceName = name ?? (typeof (blob as { name?: unknown }).name === 'string' ? (blob as File).name : 'blob');
  return {
    name: sourceName,
    byteLength: blob.size,
    async read(offset, length) {
      checkReadRange(sourceName, blob.size, offset, length);
      try {
        return new Uint8Array(await blob.slice(offset, offset + length).arrayBuffer());
      } catch (cause) {
        throw new StrataError(
          'IO_ERROR',
          `Could not read ${length} bytes at offset ${offset} of ${sourceName}; the file may have changed or been removed.`,
          {
            cause,
            details: { name: sourceName, offset, length },
          },
        );
      }
    },
  };
}
