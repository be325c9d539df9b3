import { StrataError } from '@strata/core';

/**
 * Most metadata values (keys and array elements, nested ones included) one GGUF header may hold. Real files hold about
 * a million (a 256k-token vocabulary with merges, scores and types); counts are checked against the bytes left too,
 * but one-byte elements make that bound loose.
 */
export const GGUF_MAX_METADATA_ELEMENTS = 1 << 26;

/**
 * The metadata's estimated memory may reach this many times the header's bytes on disk (plus
 * {@link GGUF_METADATA_SLACK_BYTES}). Strings and numbers stay within it; what does not is a header made of tiny
 * structures that each cost far more in memory than on disk (millions of nested empty arrays, of booleans).
 */
export const GGUF_METADATA_MEMORY_FACTOR = 4;

/** Memory any header may use beyond {@link GGUF_METADATA_MEMORY_FACTOR} times its size. */
export const GGUF_METADATA_SLACK_BYTES = 16 * 1024 * 1024;

/** Estimated bytes a value costs in memory (object header and the slot that points to it), beyond its payload. */
const OBJECT_BYTES = 24;
/** Estimated bytes of one array value (its record, its element list, the slot that points to it). */
const ARRAY_BYTES = 96;

/**
 * Counts what the metadata of one GGUF header costs while it is read, and stops the reading (with `INVALID_METADATA`
 * naming the cap) before the values in memory outgrow {@link GGUF_METADATA_MEMORY_FACTOR} times the bytes they were
 * read from, or {@link GGUF_MAX_METADATA_ELEMENTS} values.
 */
export class GgufMetadataBudget {
  private elements = 0;
  private memory = 0;

  /** @param name the file's name, for messages. */
  constructor(private readonly name: string) {}

  /** Accounts a key and its value record. */
  key(keyBytes: number, diskPosition: number): void {
    this.add(1, OBJECT_BYTES * 2 + keyBytes, diskPosition);
  }

  /** Accounts an array of `count` elements of `elementBytes` each in memory (beyond the array's own record). */
  array(count: number, elementBytes: number, diskPosition: number): void {
    this.add(count, ARRAY_BYTES + count * elementBytes, diskPosition);
  }

  /** Accounts one string of `byteLength` UTF-8 bytes (a JavaScript string needs at most as many bytes for them). */
  string(byteLength: number, diskPosition: number): void {
    this.add(0, OBJECT_BYTES + byteLength, diskPosition);
  }

  /**
   * Adds `count` values and `bytes` of memory, read by the time the header's cursor is at `diskPosition` (its bytes
   * so far, plus what the values about to be read occupy, which the caller has checked is present).
   */
  private add(count: number, bytes: number, diskPosition: number): void {
    this.elements += count;
    this.memory += bytes;
    if (this.elements > GGUF_MAX_METADATA_ELEMENTS) {
      throw new StrataError(
        'INVALID_METADATA',
        `${this.name} holds more than ${GGUF_MAX_METADATA_ELEMENTS} metadata values (cap GGUF_MAX_METADATA_ELEMENTS); ` +
          'the file is damaged or hostile.',
        { details: { name: this.name, cap: 'GGUF_MAX_METADATA_ELEMENTS', limit: GGUF_MAX_METADATA_ELEMENTS } },
      );
    }
    const allowed = GGUF_METADATA_MEMORY_FACTOR * diskPosition + GGUF_METADATA_SLACK_BYTES;
    if (this.memory > allowed) {
      throw new StrataError(
        'INVALID_METADATA',
        `${this.name}'s metadata would take about ${this.memory} bytes of memory from ${diskPosition} bytes on disk, ` +
          `over the cap of ${GGUF_METADATA_MEMORY_FACTOR}× its size plus ${GGUF_METADATA_SLACK_BYTES} bytes ` +
          '(GGUF_METADATA_MEMORY_FACTOR); the header is made of structures no model needs (the file is damaged or hostile).',
        {
          details: {
            name: this.name,
            cap: 'GGUF_METADATA_MEMORY_FACTOR',
            memory: this.memory,
            diskBytes: diskPosition,
          },
        },
      );
    }
  }
}
