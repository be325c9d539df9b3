import {
  type Backend,
  isWeightType,
  StrataError,
  settleReads,
  type WeightByteReader,
  type WeightBytes,
  type WeightTensor,
  type WeightType,
} from '@strata/core';
import type { TensorEntry, TensorStore } from '@strata/loaders';
import { decodeFloats, encodeFloats } from './float-decoding.js';

/**
 * Bytes read per piece while a weight uploads: the host holds one piece (plus what the backend copies it into), not the
 * whole tensor, and a piece freed early is cheap for the garbage collector to lag behind on.
 */
const UPLOAD_PIECE_BYTES = 8 * 1024 * 1024;

/** Options of {@link WeightSource.vector}. */
export interface VectorOptions {
  /** Added to every element before upload (Gemma's 1 + w norms from Hugging Face files). */
  readonly add?: number;
}

/**
 * The weights of one model file set, uploaded on demand to one backend in their file format. Shapes come from the file;
 * callers state the shape they expect so a wrong file fails with `SHAPE_MISMATCH` naming the tensor.
 */
export class WeightSource {
  /** The tensors of the files. */
  readonly store: TensorStore;
  /** The backend weights go to. */
  readonly backend: Backend;
  readonly #uploaded = new Map<string, Promise<WeightTensor>>();
  readonly #weights: WeightTensor[] = [];
  /** The buffer uploads read their pieces into, while no upload uses it (a second one at once gets its own). */
  #idleBuffer: Uint8Array | undefined;

  constructor(store: TensorStore, backend: Backend) {
    this.store = store;
    this.backend = backend;
  }

  /** True when the files hold a tensor of this name. */
  has(name: string): boolean {
    return this.store.tensors.has(name);
  }

  /** A tensor's entry (throws `TENSOR_NOT_FOUND` naming close names). */
  entry(name: string): TensorEntry {
    return this.store.get(name);
  }

  async #track(upload: Promise<WeightTensor>): Promise<WeightTensor> {
    const weight = await upload;
    this.#weights.push(weight);
    return weight;
  }

  /** Uploads a tensor as stored (once: a second request returns the same weight, e.g. tied embeddings). */
  tensor(name: string, expectedShape?: readonly number[]): Promise<WeightTensor> {
    const entry = this.store.get(name);
    checkShape(entry, expectedShape);
    const type = weightTypeOf(entry);
    let uploaded = this.#uploaded.get(name);
    if (uploaded === undefined) {
      uploaded = this.#track(this.backend.uploadWeight({ name, type, shape: entry.shape }, this.#bytes([name])));
      this.#uploaded.set(name, uploaded);
    }
    return uploaded;
  }

  /** Uploads a vector `[length]`, optionally adding a constant to every element (then stored as F32). */
  async vector(name: string, length: number, options: VectorOptions = {}): Promise<WeightTensor> {
    const add = options.add ?? 0;
    if (add === 0) return this.tensor(name, [length]);
    const entry = this.store.get(name);
    checkShape(entry, [length]);
    const values = await this.floats(name);
    for (let index = 0; index < values.length; index++) values[index] = (values[index] as number) + add;
    return this.#track(this.backend.uploadWeight({ name, type: 'F32', shape: [length] }, encodeFloats(values)));
  }

  /** Releases every weight this source uploaded (the model built from it must not be used afterwards). */
  dispose(): void {
    for (const weight of this.#weights) this.backend.dispose(weight);
    this.#weights.length = 0;
    this.#uploaded.clear();
  }

  /** A float tensor's values on the host (small tensors only: RoPE factors, adjusted norms). */
  async floats(name: string): Promise<Float32Array> {
    const entry = this.store.get(name);
    return decodeFloats(await this.store.readBytes(name), entry.sourceType, name);
  }

  /**
   * Uploads tensors of one type as one tensor of their rows concatenated: matrices `[rows_i, columns]` (all of
   * `columns`) become `[Σ rows_i, columns]`, vectors `[length_i]` become `[Σ length_i]`. Q, K and V (or gate and up)
   * as one weight, so one mat-vec computes them all. Throws `DTYPE_MISMATCH` when the types differ, `SHAPE_MISMATCH`
   * when the columns differ.
   */
  async concatenateRows(names: readonly string[]): Promise<WeightTensor> {
    const entries = names.map((name) => this.store.get(name));
    const first = entries[0];
    if (first === undefined) throw new StrataError('INVALID_ARGUMENT', 'Cannot concatenate zero tensors.');
    const type = weightTypeOf(first);
    const columns = first.shape.length === 1 ? undefined : first.shape[first.shape.length - 1];
    let rows = 0;
    for (const entry of entries) {
      if (entry.type !== first.type) {
        throw new StrataError(
          'DTYPE_MISMATCH',
          `Tensor '${entry.name}' is ${entry.sourceType} but '${first.name}' is ${first.sourceType}; concatenated rows must share a type.`,
          { details: { name: entry.name, type: entry.sourceType, expected: first.sourceType } },
        );
      }
      const sameColumns =
        columns === undefined ? entry.shape.length === 1 : entry.shape.length === 2 && entry.shape[1] === columns;
      if (!sameColumns) {
        throw new StrataError(
          'SHAPE_MISMATCH',
          `Tensor '${entry.name}' has shape [${entry.shape.join(', ')}]; concatenated rows must all be vectors or all have ${columns} columns, as '${first.name}' [${first.shape.join(', ')}].`,
          { details: { name: entry.name, shape: entry.shape, first: first.shape } },
        );
      }
      rows += entry.shape[0] as number;
    }
    return this.#track(
      this.backend.uploadWeight(
        { name: names.join(' + '), type, shape: columns === undefined ? [rows] : [rows, columns] },
        this.#bytes(names),
      ),
    );
  }

  /**
   * Uploads tensors of identical type and shape `[rows, columns]` as one stack `[count, rows, columns]` (experts stored
   * one tensor per expert).
   */
  async stack(names: readonly string[], expectedShape: readonly number[]): Promise<WeightTensor> {
    const entries = names.map((name) => this.store.get(name));
    const first = entries[0];
    if (first === undefined) throw new StrataError('INVALID_ARGUMENT', 'Cannot stack zero tensors.');
    const type = weightTypeOf(first);
    for (const entry of entries) {
      checkShape(entry, expectedShape);
      if (entry.type !== first.type) {
        throw new StrataError(
          'DTYPE_MISMATCH',
          `Tensor '${entry.name}' is ${entry.sourceType} but '${first.name}' is ${first.sourceType}; experts must share a type.`,
          {
            details: { name: entry.name, type: entry.sourceType, expected: first.sourceType },
          },
        );
      }
    }
    return this.#track(
      this.backend.uploadWeight(
        { name: `${first.name} (×${names.length})`, type, shape: [names.length, ...expectedShape] },
        this.#bytes(names),
      ),
    );
  }

  /**
   * The bytes of `names`, one after the other: streamed in pieces ({@link WeightSource.#pieces}) and, where the store
   * reads ranges, also readable at any offset ({@link WeightByteReader}), so a backend can read them straight into
   * device memory it maps, several slices at once.
   */
  #bytes(names: readonly string[]): WeightBytes {
    const pieces = this.#pieces(names);
    const store = this.store;
    const readRange = store.readRange?.bind(store);
    if (readRange === undefined) return pieces;
    const entries = names.map((name) => store.get(name));
    const byteLength = entries.reduce((sum, entry) => sum + entry.byteLength, 0);
    const reader: WeightByteReader = {
      byteLength,
      [Symbol.asyncIterator]: () => pieces[Symbol.asyncIterator](),
      async readInto(offset, target) {
        if (!Number.isSafeInteger(offset) || offset < 0 || offset + target.byteLength > byteLength) {
          throw new StrataError(
            'INVALID_ARGUMENT',
            `Bytes ${offset}…${offset + target.byteLength} are outside the ${byteLength} bytes of ${names.join(' + ')}.`,
            { details: { offset, length: target.byteLength, byteLength } },
          );
        }
        // The range may span several of the tensors: one read per tensor it touches, all at once, all settled before
        // the target is the caller's again.
        const reads: Promise<void>[] = [];
        let start = 0;
        let done = 0;
        for (const entry of entries) {
          const end = start + entry.byteLength;
          const position = offset + done;
          if (done < target.byteLength && position < end) {
            const length = Math.min(end - position, target.byteLength - done);
            reads.push(readRange(entry.name, position - start, target.subarray(done, done + length)));
            done += length;
          }
          start = end;
        }
        await settleReads(reads);
      },
    };
    return reader;
  }

  /**
   * The bytes of `names`, one after the other, in pieces read into one reused buffer (backends copy each piece before
   * asking for the next): uploading a whole model allocates one piece's worth of host memory.
   */
  async *#pieces(names: readonly string[]): AsyncIterable<Uint8Array> {
    const buffer = this.#idleBuffer ?? new Uint8Array(UPLOAD_PIECE_BYTES);
    this.#idleBuffer = undefined;
    try {
      for (const name of names) yield* this.store.streamBytes(name, UPLOAD_PIECE_BYTES, buffer);
    } finally {
      this.#idleBuffer = buffer;
    }
  }
}

function weightTypeOf(entry: TensorEntry): WeightType {
  if (entry.type === undefined || !isWeightType(entry.type)) {
    throw new StrataError(
      'UNSUPPORTED_TENSOR_TYPE',
      `Tensor '${entry.name}' is stored as ${entry.sourceType}, which strata cannot compute with.`,
      {
        details: { name: entry.name, type: entry.sourceType },
      },
    );
  }
  return entry.type;
}

function checkShape(entry: TensorEntry, expected: readonly number[] | undefined): void {
  if (expected === undefined) return;
  if (entry.shape.length !== expected.length || entry.shape.some((size, index) => size !== expected[index])) {
    throw new StrataError(
      'SHAPE_MISMATCH',
      `Tensor '${entry.name}' has shape [${entry.shape.join(', ')}]; the config implies [${expected.join(', ')}]. The files and config disagree.`,
      { details: { name: entry.name, shape: entry.shape, expected } },
    );
  }
}
