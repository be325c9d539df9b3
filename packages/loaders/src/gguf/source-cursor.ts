import { StrataError } from '@strata/core';
import type { ByteSource } from '../byte-source/byte-source.js';

const FIRST_READ = 64 * 1024;
const LARGEST_READ = 16 * 1024 * 1024;
const decoder = new TextDecoder('utf-8');

/**
 * Reads a header front to back from a ByteSource, fetching ever larger windows (64 KiB doubling up to 16 MiB) so a small
 * header costs one read and a large vocabulary a few, and nothing past the header is ever read. Internal to the readers.
 */
export class SourceCursor {
  /** Absolute position of the next byte to decode. */
  position = 0;
  #buffer = new Uint8Array(0);
  #view = new DataView(this.#buffer.buffer);
  #bufferStart = 0;
  #nextRead = FIRST_READ;

  constructor(readonly source: ByteSource) {}

  /** Bytes between the position and the end of the file. */
  get remaining(): number {
    return this.source.byteLength - this.position;
  }

  /** True when `count` bytes at the position are already buffered (then the sync readers may be used). */
  has(count: number): boolean {
    return this.position + count <= this.#bufferStart + this.#buffer.byteLength;
  }

  /** Makes `count` bytes at the position available; `TRUNCATED_FILE` naming `what` when the file ends first. */
  async need(count: number, what: string): Promise<void> {
    if (this.has(count)) return;
    if (count > this.remaining) {
      throw new StrataError(
        'TRUNCATED_FILE',
        `${this.source.name} ends inside ${what}: ${count} bytes needed at offset ${this.position}, ${this.remaining} left. The file is truncated or damaged.`,
        { details: { name: this.source.name, offset: this.position, needed: count, remaining: this.remaining, what } },
      );
    }
    const keepFrom = this.position - this.#bufferStart;
    const kept = keepFrom < this.#buffer.byteLength ? this.#buffer.subarray(keepFrom) : new Uint8Array(0);
    const readStart = this.position + kept.byteLength;
    const readLength = Math.min(Math.max(count - kept.byteLength, this.#nextRead), this.source.byteLength - readStart);
    this.#nextRead = Math.min(this.#nextRead * 2, LARGEST_READ);
    const fresh = await this.source.read(readStart, readLength);
    const buffer = new Uint8Array(kept.byteLength + fresh.byteLength);
    buffer.set(kept, 0);
    buffer.set(fresh, kept.byteLength);
    this.#buffer = buffer;
    this.#view = new DataView(buffer.buffer);
    this.#bufferStart = this.position;
  }

  /** Throws `TRUNCATED_FILE` unless `count` items of at least `minimumBytes` each can fit in what is left. */
  checkCount(count: bigint | number, minimumBytes: number, what: string): number {
    const asNumber = typeof count === 'number' ? count : Number(count);
    if (!Number.isSafeInteger(asNumber) || asNumber < 0 || asNumber * minimumBytes > this.remaining) {
      throw new StrataError(
        'TRUNCATED_FILE',
        `${this.source.name} declares ${count} ${what} at offset ${this.position}, more than the ${this.remaining} bytes left can hold (at least ${minimumBytes} bytes each). The file is damaged or truncated.`,
        {
          details: {
            name: this.source.name,
            offset: this.position,
            count: String(count),
            what,
            remaining: this.remaining,
          },
        },
      );
    }
    return asNumber;
  }

  #at(size: number): number {
    const at = this.position - this.#bufferStart;
    this.position += size;
    return at;
  }

  /** Synchronous readers: call {@link need} (or check {@link has}) first. */
  u8(): number {
    return this.#view.getUint8(this.#at(1));
  }
  /** Reads a signed 8-bit integer. */
  i8(): number {
    return this.#view.getInt8(this.#at(1));
  }
  /** Reads a little-endian unsigned 16-bit integer. */
  u16(): number {
    return this.#view.getUint16(this.#at(2), true);
  }
  /** Reads a little-endian signed 16-bit integer. */
  i16(): number {
    return this.#view.getInt16(this.#at(2), true);
  }
  /** Reads a little-endian unsigned 32-bit integer. */
  u32(): number {
    return this.#view.getUint32(this.#at(4), true);
  }
  /** Reads a little-endian signed 32-bit integer. */
  i32(): number {
    return this.#view.getInt32(this.#at(4), true);
  }
  /** Reads a little-endian IEEE 754 single (4 bytes). */
  f32(): number {
    return this.#view.getFloat32(this.#at(4), true);
  }
  /** Reads a little-endian IEEE 754 double (8 bytes). */
  f64(): number {
    return this.#view.getFloat64(this.#at(8), true);
  }
  /** A u64 as a number: exact below 2⁵³, otherwise at least 2⁵³ (callers reject such sizes). */
  u64Number(): number {
    const at = this.#at(8);
    return this.#view.getUint32(at, true) + this.#view.getUint32(at + 4, true) * 4294967296;
  }
  /** Reads a little-endian unsigned 64-bit integer, exact as a bigint. */
  u64(): bigint {
    return this.#view.getBigUint64(this.#at(8), true);
  }
  /** Reads a little-endian signed 64-bit integer, exact as a bigint. */
  i64(): bigint {
    return this.#view.getBigInt64(this.#at(8), true);
  }
  /** `length` raw bytes (a view into the buffer: copy it to keep it). */
  bytes(length: number): Uint8Array {
    const at = this.#at(length);
    return this.#buffer.subarray(at, at + length);
  }
  /** `length` bytes decoded as UTF-8 (invalid sequences become U+FFFD). */
  text(length: number): string {
    const at = this.#at(length);
    const buffer = this.#buffer;
    if (length <= 48) {
      // Short strings (vocabulary tokens, merges) decode faster by hand than through TextDecoder; anything unusual
      // (invalid or overlong sequences, surrogates) falls back to it so both paths give the same text.
      let text = '';
      let index = at;
      const end = at + length;
      while (index < end) {
        const byte = buffer[index] as number;
        if (byte < 0x80) {
          text += String.fromCharCode(byte);
          index += 1;
          continue;
        }
        const second = buffer[index + 1] as number;
        if (byte >= 0xc2 && byte < 0xe0 && index + 1 < end && (second & 0xc0) === 0x80) {
          text += String.fromCharCode(((byte & 0x1f) << 6) | (second & 0x3f));
          index += 2;
          continue;
        }
        const third = buffer[index + 2] as number;
        if (byte >= 0xe0 && byte < 0xf0 && index + 2 < end && (second & 0xc0) === 0x80 && (third & 0xc0) === 0x80) {
          const code = ((byte & 0x0f) << 12) | ((second & 0x3f) << 6) | (third & 0x3f);
          if (code >= 0x800 && (code < 0xd800 || code > 0xdfff)) {
            text += String.fromCharCode(code);
            index += 3;
            continue;
          }
        }
        return decoder.decode(buffer.subarray(at, end));
      }
      return text;
    }
    return decoder.decode(buffer.subarray(at, at + length));
  }
}
