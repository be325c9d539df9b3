import { describe, expect, it } from 'vitest';
import { isWeightByteReader, settleReads } from './weight-byte-reader.js';

describe('settleReads', () => {
  it('waits for every read before it throws the first failure', async () => {
    let slowDone = false;
    const slow = new Promise<void>((resolve) =>
      setTimeout(() => {
        slowDone = true;
        resolve();
      }, 20),
    );
    await expect(
      settleReads([Promise.reject(new Error('first')), slow, Promise.reject(new Error('second'))]),
    ).rejects.toThrow('first');
    expect(slowDone).toBe(true);
    await expect(settleReads([Promise.resolve(), slow])).resolves.toBeUndefined();
  });
});

describe('isWeightByteReader', () => {
  it('tells a reader from whole bytes and plain streams', () => {
    async function* pieces() {
      yield new Uint8Array(1);
    }
    const reader = Object.assign(pieces(), { byteLength: 1, readInto: async () => {} });
    expect(isWeightByteReader(reader)).toBe(true);
    expect(isWeightByteReader(pieces())).toBe(false);
    expect(isWeightByteReader(new Uint8Array(4))).toBe(false);
  });
});
