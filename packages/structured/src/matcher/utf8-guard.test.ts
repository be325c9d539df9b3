import { describe, expect, it } from 'vitest';
import { advanceUtf8Bytes, guardMask, utf8Table } from './utf8-guard.js';

const encoder = new TextEncoder();

describe('UTF-8 guard', () => {
  it('accepts exactly the byte strings TextDecoder decodes without replacement', () => {
    const samples = [
      [0x41],
      [0xc3, 0xa9],
      [0xe2, 0x82, 0xac],
      [0xf0, 0x9f, 0x98, 0x80],
      [0xc0, 0x80],
      [0xc1, 0xbf],
      [0xe0, 0x80, 0x80],
      [0xed, 0xa0, 0x80],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf5, 0x80, 0x80, 0x80],
      [0x80],
      [0xc3, 0x28],
    ];
    for (const sample of samples) {
      const bytes = Uint8Array.from(sample);
      const strict = (() => {
        try {
          new TextDecoder('utf-8', { fatal: true }).decode(bytes);
          return true;
        } catch {
          return false;
        }
      })();
      expect(advanceUtf8Bytes(0, bytes) === 0, sample.map((b) => b.toString(16)).join(' ')).toBe(strict);
    }
  });

  it('masks tokens that cannot continue an incomplete character, and stop tokens inside one', () => {
    const tokens = [
      encoder.encode('a'),
      Uint8Array.of(0xe2),
      Uint8Array.of(0x82),
      Uint8Array.of(0xac),
      Uint8Array.of(0xc0),
      new Uint8Array(0),
    ];
    const table = utf8Table(tokens);
    const boundary = Uint32Array.of(0b111111);
    guardMask(boundary, table, 0, [5]);
    expect(boundary[0]).toBe(0b100011); // 'a', E2, the stop token; not the stray continuations 82/AC nor C0
    const inside = Uint32Array.of(0b111111);
    guardMask(inside, table, advanceUtf8Bytes(0, Uint8Array.of(0xe2)), [5]);
    expect(inside[0]).toBe(0b001100); // 82 and AC continue E2; the stop token waits for the character to end
  });
});
