import { describe, expect, it } from 'vitest';
import { StrataError } from '../errors/strata-error.js';
import { GGML_TYPES, ggmlByteLength, ggmlTypeFromId, ggmlTypeFromName } from './ggml-type.js';

describe('ggml type table', () => {
  it('has one row per id, in id order', () => {
    for (const [index, info] of GGML_TYPES.entries()) expect(info.id).toBe(index);
  });

  it('gives the block geometry of the k-quants from their struct sizes', () => {
    // Q4_K: f16 d, f16 dmin, 12 bytes of 6-bit scales, 128 bytes of nibbles.
    expect(ggmlTypeFromName('Q4_K')).toMatchObject({ blockSize: 256, bytesPerBlock: 2 + 2 + 12 + 128 });
    // Q6_K: 128 bytes low nibbles, 64 bytes high bits, 16 int8 scales, f16 d.
    expect(ggmlTypeFromName('Q6_K')).toMatchObject({ blockSize: 256, bytesPerBlock: 128 + 64 + 16 + 2 });
    expect(ggmlByteLength(ggmlTypeFromName('Q8_0'), 64)).toBe(68);
  });

  it('rejects unknown ids, removed layouts and partial blocks with typed errors', () => {
    expect(() => ggmlTypeFromId(40)).toThrowError(/40/);
    expect(
      StrataError.isInstance(
        catchError(() => ggmlTypeFromId(-1)),
        'UNKNOWN_TENSOR_TYPE',
      ),
    ).toBe(true);
    expect(
      StrataError.isInstance(
        catchError(() => ggmlByteLength(ggmlTypeFromId(4), 32)),
        'UNSUPPORTED_TENSOR_TYPE',
      ),
    ).toBe(true);
    expect(
      StrataError.isInstance(
        catchError(() => ggmlByteLength(ggmlTypeFromName('Q4_0'), 31)),
        'INVALID_TENSOR_INFO',
      ),
    ).toBe(true);
  });
});

function catchError(run: () => unknown): unknown {
  try {
    run();
  } catch (error) {
    return error;
  }
  return undefined;
}
