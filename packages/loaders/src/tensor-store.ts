import { type GgmlTypeName, StrataError } from '@strata/core';
import { type ByteSource, readIntoFrom } from './byte-source/byte-source.js';
import { closeNames } from './close-names.js';

/** One tensor of a model file, whatever the format. */
export interface TensorEntry {
  /** The file's own tensor name (`blk.0.attn_q.weight`, `model.layers.0.self_attn.q_proj.weight`). */
  readonly name: string;
  /** The ggml type with the same byte layout; undefined for a dtype ggml lacks (safetensors U8, BOOL, F8…). */
  readonly type: GgmlTypeName | undefined;
  /** The file's own dtype name (`Q4_K`, `BF16`, `F8_E4M3`). */
  readonly sourceType: string;
  /** Row-major shape, outermost first: GGUF dims `[ne0, ne1]` become `[ne1, ne0]`. */
  readonly shape: readonly number[];
  /** Bytes the tensor's data occupies in the file. */
  readonly byteLength: number;
}

/** The tensors of a model (one file or several shards) and their bytes, read on demand. */
export interface TensorStore {
  /** Every tensor by name, in file order. */
  readonly tensors: ReadonlyMap<string, TensorEntry>;
  /** The entry of a tensor; throws `TENSOR_NOT_FOUND` naming close names. */
  get(name: string): TensorEntry;
  /** Reads a tensor's bytes into one array (fine for small tensors; use {@link TensorStore.streamBytes} for large ones). */
  readBytes(name: string): Promise<Uint8Array>;
  /**
   * A tensor's bytes as consecutive chunks of at most `chunkBytes` (default 64 MiB), read one at a time, so a large model
   * can be uploaded while holding one chunk. With `into`, every chunk is a view of `into` (at most its length), read in
   * place where the source can (`ByteSource.readInto`) and overwritten by the next: a consumer that copies each chunk
   * before asking for the next streams a whole model through one buffer.
   */
  streamBytes(name: string, chunkBytes?: number, into?: Uint8Array): AsyncIterable<Uint8Array>;
  /**
   * Fills `target` with a tensor's bytes from `offset` (relative to the tensor's first byte), read in place where the
   * source can. Calls may overlap, so a caller can read a large tensor in parallel slices. Stores that cannot read
   * ranges leave it out; callers then stream.
   */
  readRange?(name: string, offset: number, target: Uint8Array): Promise<void>;
}

/** Where one tensor's bytes lie: a source and an absolute byte offset in it. */
export interface TensorLocation {
  /** The tensor's description. */
  readonly entry: TensorEntry;
  /** The file holding the bytes. */
  readonly source: ByteSource;
  /** Absolute offset of the first byte in `source`. */
  readonly offset: number;
}

/** Default chunk size of {@link TensorStore.streamBytes}: 64 MiB. */
export const DEFAULT_CHUNK_BYTES = 64 * 1024 * 1024;

/** A {@link TensorStore} over tensors at known locations (the GGUF and safetensors readers build theirs with it). */
export class LocatedTensorStore implements TensorStore {
  /** Every tensor's entry by name, in the order the locations were given (file order). */
  readonly tensors: ReadonlyMap<string, TensorEntry>;
  readonly #locations: ReadonlyMap<string, TensorLocation>;

  /** Takes the locations in file order; throws `INVALID_FILE` on a duplicate name. */
  constructor(locations: Iterable<TensorLocation>) {
    const byName = new Map<string, TensorLocation>();
    const entries = new Map<string, TensorEntry>();
    for (const location of locations) {
      const name = location.entry.name;
      if (byName.has(name)) {
        throw new StrataError(
          'INVALID_FILE',
          `Tensor '${name}' appears twice (in ${location.source.name}); the model files are inconsistent.`,
          {
            details: { name, source: location.source.name },
          },
        );
      }
      byName.set(name, location);
      entries.set(name, location.entry);
    }
    this.#locations = byName;
    this.tensors = entries;
  }

  /** Where a tensor's bytes lie (for readers that map or slice files themselves). */
  locate(name: string): TensorLocation {
    const location = this.#locations.get(name);
    if (location === undefined) {
      const suggestions = closeNames(name, this.#locations.keys());
      throw new StrataError(
        'TENSOR_NOT_FOUND',
        `No tensor named '${name}' among ${this.#locations.size}${suggestions.length > 0 ? `; close names: ${suggestions.map((s) => `'${s}'`).join(', ')}` : ''}.`,
        { details: { name, suggestions } },
      );
    }
    return location;
  }

  /** The entry of a tensor; throws `TENSOR_NOT_FOUND` naming up to three close names. */
  get(name: string): TensorEntry {
    return this.locate(name).entry;
  }

  /** Reads a tensor's `byteLength` bytes in one read; throws `TENSOR_NOT_FOUND` for an unknown name. */
  async readBytes(name: string): Promise<Uint8Array> {
    const { source, offset, entry } = this.locate(name);
    return source.read(offset, entry.byteLength);
  }

  /**
   * {@link TensorStore.readRange}: throws `INVALID_ARGUMENT` for a range outside the tensor, `TENSOR_NOT_FOUND` for an
   * unknown name.
   */
  async readRange(name: string, offset: number, target: Uint8Array): Promise<void> {
    const { source, offset: start, entry } = this.locate(name);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset + target.byteLength > entry.byteLength) {
      throw new StrataError(
        'INVALID_ARGUMENT',
        `Bytes ${offset}…${offset + target.byteLength} are outside tensor '${name}' of ${entry.byteLength} bytes; read within it.`,
        { details: { name, offset, length: target.byteLength, byteLength: entry.byteLength } },
      );
    }
    if (target.byteLength > 0) await readIntoFrom(source, start + offset, target);
  }

  /**
   * The tensor's bytes in chunks of at most `chunkBytes` (default 64 MiB), each read on demand (into `into` when given:
   * see {@link TensorStore.streamBytes}); throws `INVALID_ARGUMENT` for a chunk size that is not a positive integer.
   */
  streamBytes(name: string, chunkBytes: number = DEFAULT_CHUNK_BYTES, into?: Uint8Array): AsyncIterable<Uint8Array> {
    const { source, offset, entry } = this.locate(name);
    if (!Number.isSafeInteger(chunkBytes) || chunkBytes <= 0 || into?.byteLength === 0) {
      throw new StrataError(
        'INVALID_ARGUMENT',
        `chunkBytes must be a positive integer (and the buffer to read into not empty), got ${chunkBytes}.`,
        { details: { chunkBytes } },
      );
    }
    const piece = into === undefined ? chunkBytes : Math.min(chunkBytes, into.byteLength);
    return {
      async *[Symbol.asyncIterator]() {
        for (let done = 0; done < entry.byteLength; done += piece) {
          const length = Math.min(piece, entry.byteLength - done);
          if (into === undefined) yield await source.read(offset + done, length);
          else {
            const target = into.subarray(0, length);
            await readIntoFrom(source, offset + done, target);
            yield target;
          }
        }
      },
    };
  }
}
