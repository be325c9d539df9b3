import { type GgmlTypeName, StrataError } from '@strata/core';
import type { ByteSource } from '../byte-source/byte-source.js';
import { LocatedTensorStore, type TensorEntry, type TensorLocation } from '../tensor-store.js';

/** Every dtype of the safetensors format, with its size in bits. */
export const SAFETENSORS_DTYPE_BITS = Object.freeze({
  BOOL: 8,
  U8: 8,
  I8: 8,
  F8_E5M2: 8,
  F8_E4M3: 8,
  F8_E8M0: 8,
  I16: 16,
  U16: 16,
  F16: 16,
  BF16: 16,
  I32: 32,
  U32: 32,
  F32: 32,
  I64: 64,
  U64: 64,
  F64: 64,
  C64: 64,
  F4: 4,
  F6_E2M3: 6,
  F6_E3M2: 6,
} as const);

/** A safetensors dtype name. */
export type SafetensorsDtype = keyof typeof SAFETENSORS_DTYPE_BITS;

/** The ggml type of the same byte layout as each safetensors dtype that has one. */
const GGML_OF: Partial<Record<SafetensorsDtype, GgmlTypeName>> = {
  F32: 'F32',
  F16: 'F16',
  BF16: 'BF16',
  I8: 'I8',
  I16: 'I16',
  I32: 'I32',
  I64: 'I64',
  F64: 'F64',
};

/** Largest JSON header accepted (the format's own limit). */
export const SAFETENSORS_MAX_HEADER_BYTES = 100_000_000;

/** One tensor of a safetensors header. */
export interface SafetensorsTensorInfo {
  /** Tensor name. */
  readonly name: string;
  /** The file's dtype. */
  readonly dtype: SafetensorsDtype;
  /** Row-major shape. */
  readonly shape: readonly number[];
  /** Start and end of the data, relative to the data section. */
  readonly dataOffsets: readonly [number, number];
}

/** A parsed safetensors header. */
export interface SafetensorsHeader {
  /** The `__metadata__` string map (empty when absent). */
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensors in header order. */
  readonly tensorInfos: readonly SafetensorsTensorInfo[];
  /** Absolute offset of the data section (8 + header length). */
  readonly dataOffset: number;
}

/** An opened safetensors model (one file or several shards). */
export interface SafetensorsFile {
  /** The header of each file, in the order given. */
  readonly headers: readonly SafetensorsHeader[];
  /** The tensors of every file. */
  readonly tensors: LocatedTensorStore;
}

function fail(
  code: 'INVALID_FILE' | 'INVALID_TENSOR_INFO' | 'TRUNCATED_FILE' | 'UNKNOWN_TENSOR_TYPE',
  message: string,
  details: Record<string, unknown>,
): StrataError {
  return new StrataError(code, message, { details });
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function parseTensor(name: string, value: unknown, where: string, dataLength: number): SafetensorsTensorInfo {
  if (!isRecord(value))
    throw fail('INVALID_FILE', `${where}: the entry of tensor '${name}' is not an object.`, { name });
  const { dtype, shape, data_offsets: offsets } = value;
  if (typeof dtype !== 'string')
    throw fail('INVALID_FILE', `${where}: tensor '${name}' has no dtype string.`, { name });
  if (!Object.hasOwn(SAFETENSORS_DTYPE_BITS, dtype)) {
    throw fail(
      'UNKNOWN_TENSOR_TYPE',
      `${where}: tensor '${name}' has unknown dtype ${dtype.slice(0, 20)}; known: ${Object.keys(SAFETENSORS_DTYPE_BITS).join(', ')}.`,
      { name, dtype },
    );
  }
  const isCount = (size: unknown): size is number =>
    typeof size === 'number' && Number.isSafeInteger(size) && size >= 0;
  if (!Array.isArray(shape) || !shape.every(isCount))
    throw fail('INVALID_TENSOR_INFO', `${where}: tensor '${name}' shape is not a list of non-negative integers.`, {
      name,
    });
  if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every(isCount)) {
    throw fail('INVALID_TENSOR_INFO', `${where}: tensor '${name}' data_offsets is not [begin, end].`, { name });
  }
  const [begin, end] = offsets as [number, number];
  let elements = 1;
  for (const size of shape as number[]) elements *= size;
  const bits = SAFETENSORS_DTYPE_BITS[dtype as SafetensorsDtype];
  if (!Number.isSafeInteger(elements * bits) || end < begin || (end - begin) * 8 !== elements * bits) {
    throw fail(
      'INVALID_TENSOR_INFO',
      `${where}: tensor '${name}' (${dtype} [${shape.join(', ')}]) spans bytes ${begin}-${end}, which does not match its size.`,
      {
        name,
        begin,
        end,
      },
    );
  }
  if (end > dataLength) {
    throw fail(
      'TRUNCATED_FILE',
      `${where}: tensor '${name}' ends at data byte ${end} but the file holds ${dataLength}; it is truncated (download it again).`,
      { name, end, dataLength },
    );
  }
  return { name, dtype: dtype as SafetensorsDtype, shape: shape as number[], dataOffsets: [begin, end] };
}

/** Reads and validates the header of a safetensors file: length, JSON, dtypes, and offsets against the file. */
export async function readSafetensorsHeader(source: ByteSource): Promise<SafetensorsHeader> {
  const where = source.name;
  if (source.byteLength < 8)
    throw fail('TRUNCATED_FILE', `${where} is ${source.byteLength} bytes, too short for a safetensors header.`, {
      name: where,
    });
  const lengthBytes = await source.read(0, 8);
  const length = new DataView(lengthBytes.buffer, lengthBytes.byteOffset, 8).getBigUint64(0, true);
  if (length > BigInt(SAFETENSORS_MAX_HEADER_BYTES)) {
    throw fail(
      'INVALID_FILE',
      `${where} declares a ${length}-byte JSON header; safetensors allows at most ${SAFETENSORS_MAX_HEADER_BYTES}. It is not a safetensors file or is damaged.`,
      { name: where },
    );
  }
  const headerLength = Number(length);
  if (8 + headerLength > source.byteLength) {
    throw fail(
      'TRUNCATED_FILE',
      `${where} declares a ${headerLength}-byte header but holds ${source.byteLength - 8} bytes after the length.`,
      { name: where },
    );
  }
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(await source.read(8, headerLength)));
  } catch (cause) {
    if (StrataError.isInstance(cause)) throw cause;
    throw new StrataError(
      'INVALID_FILE',
      `${where} has a header that is not valid UTF-8 JSON; it is not a safetensors file or is damaged.`,
      { cause, details: { name: where } },
    );
  }
  if (!isRecord(json))
    throw fail('INVALID_FILE', `${where}: the safetensors header is not a JSON object.`, { name: where });
  const dataOffset = 8 + headerLength;
  const dataLength = source.byteLength - dataOffset;
  const metadata: Record<string, string> = {};
  const tensorInfos: SafetensorsTensorInfo[] = [];
  for (const [name, value] of Object.entries(json)) {
    if (name === '__metadata__') {
      if (!isRecord(value)) throw fail('INVALID_FILE', `${where}: __metadata__ is not an object.`, { name: where });
      for (const [key, text] of Object.entries(value)) {
        if (typeof text !== 'string')
          throw fail('INVALID_FILE', `${where}: __metadata__.${key} is not a string.`, { key });
        metadata[key] = text;
      }
      continue;
    }
    tensorInfos.push(parseTensor(name, value, where, dataLength));
  }
  const sorted = tensorInfos
    .filter((info) => info.dataOffsets[1] > info.dataOffsets[0])
    .sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0]);
  for (let index = 1; index < sorted.length; index++) {
    const previous = sorted[index - 1] as SafetensorsTensorInfo;
    const current = sorted[index] as SafetensorsTensorInfo;
    if (current.dataOffsets[0] < previous.dataOffsets[1]) {
      throw fail(
        'INVALID_TENSOR_INFO',
        `${where}: tensors '${previous.name}' and '${current.name}' overlap; the file is damaged.`,
        { names: [previous.name, current.name] },
      );
    }
  }
  return { metadata, tensorInfos, dataOffset };
}

/** The {@link TensorEntry} of a safetensors tensor. */
export function safetensorsTensorEntry(info: SafetensorsTensorInfo): TensorEntry {
  return {
    name: info.name,
    type: GGML_OF[info.dtype],
    sourceType: info.dtype,
    shape: info.shape,
    byteLength: info.dataOffsets[1] - info.dataOffsets[0],
  };
}

/** Opens one safetensors file or several shards as one TensorStore (a name in two shards is `INVALID_FILE`). */
export async function openSafetensors(sources: ByteSource | readonly ByteSource[]): Promise<SafetensorsFile> {
  const list: readonly ByteSource[] = Array.isArray(sources) ? sources : [sources as ByteSource];
  const headers: SafetensorsHeader[] = [];
  const locations: TensorLocation[] = [];
  for (const source of list) {
    const header = await readSafetensorsHeader(source);
    headers.push(header);
    for (const info of header.tensorInfos)
      locations.push({ entry: safetensorsTensorEntry(info), source, offset: header.dataOffset + info.dataOffsets[0] });
  }
  return { headers, tensors: new LocatedTensorStore(locations) };
}
