import { ggmlByteLength, type GgmlTypeName, ggmlTypeFromName, StrataError } from '@strata/core';
import { GGUF_DEFAULT_ALIGNMENT, GGUF_MAGIC, GGUF_MAX_DIMENSIONS } from './gguf-header.js';
import { GgufMetadata } from './gguf-metadata.js';
import { type GgufArray, type GgufTypedValue, type GgufValueType, ggufValueTypeId } from './gguf-value.js';

/** Tensor data for the writer: bytes, or chunks produced on demand (so a multi-GB tensor never sits in memory). */
export type GgufTensorData = Uint8Array | AsyncIterable<Uint8Array> | (() => AsyncIterable<Uint8Array>);

/** One tensor to write. */
export interface GgufWriteTensor {
  /** Tensor name. */
  readonly name: string;
  /** ggml type of the bytes. */
  readonly type: GgmlTypeName;
  /** Row-major shape, outermost first (written to GGUF reversed, innermost first). */
  readonly shape: readonly number[];
  /** Exactly the byte length the type and shape imply. */
  readonly data: GgufTensorData;
}

/** What {@link writeGguf} and {@link ggufChunks} write. */
export interface GgufWriteSpec {
  /** Key/value metadata in order (a {@link GgufMetadata} read from another file works too). */
  readonly metadata?:
    | GgufMetadata
    | Iterable<readonly [string, GgufTypedValue]>
    | Readonly<Record<string, GgufTypedValue>>;
  /** Tensors, written in this order. */
  readonly tensors?: readonly GgufWriteTensor[];
  /** Data alignment (power of two, default 32); a value other than 32 is recorded as `general.alignment`. */
  readonly alignment?: number;
  /** Format version: 3 (default) or 2. */
  readonly version?: 2 | 3;
}

const encoder = new TextEncoder();

function argument(message: string, details: Record<string, unknown> = {}): StrataError {
  return new StrataError('INVALID_ARGUMENT', message, { details });
}

/** Little-endian encoder growing one buffer. */
class Encoder {
  #buffer = new Uint8Array(1024);
  #view = new DataView(this.#buffer.buffer);
  length = 0;

  #reserve(count: number): number {
    if (this.length + count > this.#buffer.byteLength) {
      const next = new Uint8Array(Math.max(this.#buffer.byteLength * 2, this.length + count));
      next.set(this.#buffer.subarray(0, this.length));
      this.#buffer = next;
      this.#view = new DataView(next.buffer);
    }
    const at = this.length;
    this.length += count;
    return at;
  }
  u8(value: number): void {
    const at = this.#reserve(1);
    this.#view.setUint8(at, value);
  }
  i8(value: number): void {
    const at = this.#reserve(1);
    this.#view.setInt8(at, value);
  }
  u16(value: number): void {
    const at = this.#reserve(2);
    this.#view.setUint16(at, value, true);
  }
  i16(value: number): void {
    const at = this.#reserve(2);
    this.#view.setInt16(at, value, true);
  }
  u32(value: number): void {
    const at = this.#reserve(4);
    this.#view.setUint32(at, value, true);
  }
  i32(value: number): void {
    const at = this.#reserve(4);
    this.#view.setInt32(at, value, true);
  }
  f32(value: number): void {
    const at = this.#reserve(4);
    this.#view.setFloat32(at, value, true);
  }
  f64(value: number): void {
    const at = this.#reserve(8);
    this.#view.setFloat64(at, value, true);
  }
  u64(value: bigint): void {
    const at = this.#reserve(8);
    this.#view.setBigUint64(at, value, true);
  }
  i64(value: bigint): void {
    const at = this.#reserve(8);
    this.#view.setBigInt64(at, value, true);
  }
  bytes(bytes: Uint8Array): void {
    const at = this.#reserve(bytes.byteLength);
    this.#buffer.set(bytes, at);
  }
  string(value: string): void {
    const bytes = encoder.encode(value);
    this.u64(BigInt(bytes.byteLength));
    this.bytes(bytes);
  }
  pad(alignment: number): void {
    this.#reserve((alignment - (this.length % alignment)) % alignment);
  }
  result(): Uint8Array {
    return this.#buffer.slice(0, this.length);
  }
}

const INTEGER_RANGES: Partial<Record<GgufValueType, readonly [number, number]>> = {
  u8: [0, 0xff],
  i8: [-0x80, 0x7f],
  u16: [0, 0xffff],
  i16: [-0x8000, 0x7fff],
  u32: [0, 0xffffffff],
  i32: [-0x80000000, 0x7fffffff],
};

function scalar(out: Encoder, type: GgufValueType, value: number | bigint | boolean, key: string): void {
  const range = INTEGER_RANGES[type];
  if (
    range !== undefined &&
    !(typeof value === 'number' && Number.isInteger(value) && value >= range[0] && value <= range[1])
  ) {
    throw argument(`Metadata '${key}': ${String(value)} is not a ${type}.`, { key, type });
  }
  if (
    (type === 'u64' && !(typeof value === 'bigint' && value >= 0n && value < 1n << 64n)) ||
    (type === 'i64' && !(typeof value === 'bigint' && value >= -(1n << 63n) && value < 1n << 63n))
  ) {
    throw argument(`Metadata '${key}': ${String(value)} is not a ${type} (pass a bigint).`, { key, type });
  }
  if ((type === 'f32' || type === 'f64') && typeof value !== 'number')
    throw argument(`Metadata '${key}': ${String(value)} is not a number.`, { key });
  if (type === 'bool' && typeof value !== 'boolean')
    throw argument(`Metadata '${key}': ${String(value)} is not a boolean.`, { key });
  switch (type) {
    case 'u8':
      out.u8(value as number);
      break;
    case 'i8':
      out.i8(value as number);
      break;
    case 'u16':
      out.u16(value as number);
      break;
    case 'i16':
      out.i16(value as number);
      break;
    case 'u32':
      out.u32(value as number);
      break;
    case 'i32':
      out.i32(value as number);
      break;
    case 'f32':
      out.f32(value as number);
      break;
    case 'f64':
      out.f64(value as number);
      break;
    case 'u64':
      out.u64(value as bigint);
      break;
    case 'i64':
      out.i64(value as bigint);
      break;
    case 'bool':
      out.u8(value ? 1 : 0);
      break;
    default:
      throw argument(`Metadata '${key}': ${type} is not a scalar type.`, { key });
  }
}

function array(out: Encoder, value: GgufArray, key: string): void {
  out.u32(ggufValueTypeId(value.elementType));
  out.u64(BigInt(value.values.length));
  if (value.elementType === 'string') {
    for (const element of value.values) {
      if (typeof element !== 'string')
        throw argument(`Metadata '${key}': a string array holds ${typeof element}.`, { key });
      out.string(element);
    }
  } else if (value.elementType === 'array') {
    for (const element of value.values) array(out, element, key);
  } else {
    for (const element of value.values) scalar(out, value.elementType, element, key);
  }
}

function metadataEntries(spec: GgufWriteSpec): [string, GgufTypedValue][] {
  const metadata = spec.metadata ?? [];
  if (metadata instanceof GgufMetadata) return [...metadata.entries()];
  if (Symbol.iterator in metadata)
    return [...(metadata as Iterable<readonly [string, GgufTypedValue]>)].map(([key, value]) => [key, value]);
  return Object.entries(metadata as Readonly<Record<string, GgufTypedValue>>);
}

/** Layout of a file the writer will produce. */
export interface GgufLayout {
  /** Header, tensor infos and the padding up to the data section. */
  readonly header: Uint8Array;
  /** Byte length of each tensor, in spec order. */
  readonly tensorByteLengths: readonly number[];
  /** Alignment of the data. */
  readonly alignment: number;
  /** Total size of the file. */
  readonly byteLength: number;
}

/** Encodes the header of the file `spec` describes and computes its layout, checking every value and tensor. */
export function encodeGgufHeader(spec: GgufWriteSpec): GgufLayout {
  const entries = metadataEntries(spec);
  const declared = entries.find(([key]) => key === 'general.alignment')?.[1];
  const alignment = spec.alignment ?? (declared?.type === 'u32' ? declared.value : GGUF_DEFAULT_ALIGNMENT);
  if (!Number.isInteger(alignment) || alignment <= 0 || alignment > 0xffffffff || (alignment & (alignment - 1)) !== 0) {
    throw argument(`Alignment ${alignment} is not a power of two.`, { alignment });
  }
  if (declared !== undefined && !(declared.type === 'u32' && declared.value === alignment)) {
    throw argument(`Metadata general.alignment (${String(declared.value)}) disagrees with alignment ${alignment}.`, {
      alignment,
    });
  }
  if (declared === undefined && alignment !== GGUF_DEFAULT_ALIGNMENT)
    entries.push(['general.alignment', { type: 'u32', value: alignment }]);
  const keys = new Set<string>();
  const tensors = spec.tensors ?? [];
  const out = new Encoder();
  out.u32(GGUF_MAGIC);
  out.u32(spec.version ?? 3);
  out.u64(BigInt(tensors.length));
  out.u64(BigInt(entries.length));
  for (const [key, value] of entries) {
    if (keys.has(key)) throw argument(`Metadata key '${key}' appears twice.`, { key });
    keys.add(key);
    out.string(key);
    out.u32(ggufValueTypeId(value.type));
    if (value.type === 'string') out.string(value.value);
    else if (value.type === 'array') array(out, value.value, key);
    else scalar(out, value.type, value.value, key);
  }
  const names = new Set<string>();
  const tensorByteLengths: number[] = [];
  let offset = 0;
  for (const tensor of tensors) {
    if (names.has(tensor.name)) throw argument(`Tensor '${tensor.name}' appears twice.`, { name: tensor.name });
    names.add(tensor.name);
    const type = ggmlTypeFromName(tensor.type);
    if (
      tensor.shape.length > GGUF_MAX_DIMENSIONS ||
      tensor.shape.some((size) => !Number.isSafeInteger(size) || size < 0)
    ) {
      throw argument(`Tensor '${tensor.name}' shape [${tensor.shape.join(', ')}] is not 0-4 non-negative integers.`, {
        name: tensor.name,
      });
    }
    const row = tensor.shape[tensor.shape.length - 1] ?? 1;
    if (row % type.blockSize !== 0)
      throw argument(`Tensor '${tensor.name}' rows of ${row} are not whole ${type.name} blocks of ${type.blockSize}.`, {
        name: tensor.name,
      });
    const byteLength = ggmlByteLength(
      type,
      tensor.shape.reduce((product, size) => product * size, 1),
    );
    if (tensor.data instanceof Uint8Array && tensor.data.byteLength !== byteLength) {
      throw argument(
        `Tensor '${tensor.name}' has ${tensor.data.byteLength} bytes; ${tensor.type} [${tensor.shape.join(', ')}] needs ${byteLength}.`,
        { name: tensor.name },
      );
    }
    out.string(tensor.name);
    out.u32(tensor.shape.length);
    for (const size of [...tensor.shape].reverse()) out.u64(BigInt(size));
    out.u32(type.id);
    out.u64(BigInt(offset));
    tensorByteLengths.push(byteLength);
    offset += Math.ceil(byteLength / alignment) * alignment;
  }
  out.pad(alignment);
  const header = out.result();
  return { header, tensorByteLengths, alignment, byteLength: header.byteLength + offset };
}

async function* tensorChunks(data: GgufTensorData): AsyncIterable<Uint8Array> {
  if (data instanceof Uint8Array) yield data;
  else yield* typeof data === 'function' ? data() : data;
}

/**
 * The bytes of a GGUF file as consecutive chunks: the header, then each tensor's data (as the tensor yields it) and its
 * padding. Throws `INVALID_ARGUMENT` when a tensor yields more or fewer bytes than its type and shape imply.
 */
export async function* ggufChunks(spec: GgufWriteSpec): AsyncGenerator<Uint8Array> {
  const layout = encodeGgufHeader(spec);
  yield layout.header;
  const tensors = spec.tensors ?? [];
  for (let index = 0; index < tensors.length; index++) {
    const tensor = tensors[index] as GgufWriteTensor;
    const expected = layout.tensorByteLengths[index] as number;
    let written = 0;
    for await (const chunk of tensorChunks(tensor.data)) {
      written += chunk.byteLength;
      if (written > expected)
        throw argument(`Tensor '${tensor.name}' yielded more than its ${expected} bytes.`, { name: tensor.name });
      if (chunk.byteLength > 0) yield chunk;
    }
    if (written !== expected)
      throw argument(`Tensor '${tensor.name}' yielded ${written} of its ${expected} bytes.`, { name: tensor.name });
    const padding = (layout.alignment - (expected % layout.alignment)) % layout.alignment;
    if (padding > 0) yield new Uint8Array(padding);
  }
}

/** Writes a GGUF file chunk by chunk to `sink` (a file, a stream), awaiting each write; resolves to the byte count. */
export async function writeGgufTo(
  spec: GgufWriteSpec,
  sink: (chunk: Uint8Array) => Promise<void> | void,
): Promise<number> {
  let total = 0;
  for await (const chunk of ggufChunks(spec)) {
    await sink(chunk);
    total += chunk.byteLength;
  }
  return total;
}

/** The bytes of a small GGUF file (every tensor's data must be a Uint8Array; use {@link ggufChunks} for large ones). */
export function writeGguf(spec: GgufWriteSpec): Uint8Array {
  const layout = encodeGgufHeader(spec);
  const bytes = new Uint8Array(layout.byteLength);
  bytes.set(layout.header, 0);
  let offset = layout.header.byteLength;
  (spec.tensors ?? []).forEach((tensor, index) => {
    if (!(tensor.data instanceof Uint8Array))
      throw argument(
        `writeGguf needs bytes for tensor '${tensor.name}'; use ggufChunks or writeGgufTo for streamed data.`,
      );
    bytes.set(tensor.data, offset);
    const length = layout.tensorByteLengths[index] as number;
    offset += Math.ceil(length / layout.alignment) * layout.alignment;
  });
  return bytes;
}
