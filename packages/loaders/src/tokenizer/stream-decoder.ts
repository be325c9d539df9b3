import type { StreamDecoder } from './tokenizer.js';

/**
 * A stream decoder over per-token bytes: bytes go through a streaming UTF-8 decoder, which holds back an incomplete
 * sequence until its last byte arrives and turns a broken one into U+FFFD.
 */
export class ByteStreamDecoder implements StreamDecoder {
  private readonly decoder = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
  private first: boolean;

  /**
   * @param bytesOf the bytes of one id (empty for a skipped token).
   * @param stripLeadingSpace remove one leading space from the first non-empty piece.
   */
  constructor(
    private readonly bytesOf: (id: number) => Uint8Array,
    stripLeadingSpace: boolean,
  ) {
    this.first = stripLeadingSpace;
  }

  /** Takes the next id; returns the text its bytes complete (empty while a UTF-8 sequence is still open). */
  push(id: number): string {
    let bytes = this.bytesOf(id);
    if (bytes.length === 0) return '';
    if (this.first) {
      this.first = false;
      if (bytes[0] === 0x20) bytes = bytes.subarray(1);
    }
    return this.decoder.decode(bytes, { stream: true });
  }

  /** Ends the stream: returns the bytes held back, an incomplete sequence as U+FFFD. */
  flush(): string {
    return this.decoder.decode();
  }
}
