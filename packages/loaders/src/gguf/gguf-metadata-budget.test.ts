import { StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../byte-source/byte-source.js';
import { openGguf } from './gguf-file.js';
import { GGUF_MAX_METADATA_ELEMENTS } from './gguf-metadata-budget.js';

const ARRAY = 9;
const BOOL = 7;
const U8 = 0;

/** A GGUF v3 file with no tensors and one key 'k' whose value is an array: `[elementType, count]` then `body`. */
function oneArray(elementType: number, count: number, body: Uint8Array): Uint8Array {
  const head = 4 + 4 + 8 + 8 + 8 + 1 + 4 + 4 + 8;
  const bytes = new Uint8Array(head + body.byteLength);
  const view = new DataView(bytes.buffer);
  view.setUint32(0, 0x46554747, true);
  view.setUint32(4, 3, true);
  view.setBigUint64(8, 0n, true);
  view.setBigUint64(16, 1n, true);
  view.setBigUint64(24, 1n, true);
  bytes[32] = 'k'.charCodeAt(0);
  view.setUint32(33, ARRAY, true);
  view.setUint32(37, elementType, true);
  view.setBigUint64(41, BigInt(count), true);
  bytes.set(body, head);
  return bytes;
}

async function failure(bytes: Uint8Array): Promise<StrataError> {
  try {
    await openGguf(bytesSource(bytes, 'hostile.gguf'));
  } catch (error) {
    if (StrataError.isInstance(error)) return error;
    throw error;
  }
  throw new Error('expected the file to be rejected');
}

describe('GGUF metadata memory budget', () => {
  it('stops a header of a million nested empty arrays before it outgrows its size on disk', async () => {
    const count = 1_000_000;
    const body = new Uint8Array(count * 12);
    const view = new DataView(body.buffer);
    for (let index = 0; index < count; index++) view.setUint32(index * 12, U8, true); // element type u8, count 0
    const error = await failure(oneArray(ARRAY, count, body));
    expect(error.code).toBe('INVALID_METADATA');
    expect(error.details.cap).toBe('GGUF_METADATA_MEMORY_FACTOR');
    expect(error.message).toContain('GGUF_METADATA_MEMORY_FACTOR');
  });

  it('stops ten million booleans (8 bytes each in memory, 1 on disk)', async () => {
    const error = await failure(oneArray(BOOL, 10_000_000, new Uint8Array(10_000_000)));
    expect(error.details.cap).toBe('GGUF_METADATA_MEMORY_FACTOR');
  });

  it('caps the number of metadata values', async () => {
    const count = GGUF_MAX_METADATA_ELEMENTS + 1;
    const error = await failure(oneArray(U8, count, new Uint8Array(count)));
    expect(error.code).toBe('INVALID_METADATA');
    expect(error.details.cap).toBe('GGUF_MAX_METADATA_ELEMENTS');
  });

  it('reads an array within the budget', async () => {
    const file = await openGguf(bytesSource(oneArray(BOOL, 3, Uint8Array.from([1, 0, 1]))));
    expect(file.metadata.entry('k')).toEqual({
      type: 'array',
      value: { elementType: 'bool', values: [true, false, true] },
    });
  });

  it('checks boolean array elements as it checks a boolean value', async () => {
    const error = await failure(oneArray(BOOL, 3, Uint8Array.from([1, 0, 2])));
    expect(error.code).toBe('INVALID_METADATA');
    expect(error.message).toContain("'k'[2]");
    expect(error.message).toContain('stored as 2');
  });
});
