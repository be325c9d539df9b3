import { ggmlByteLength, type GgmlTypeInfo, ggmlTypeFromId, StrataError } from '@strata/core';
import type { ByteSource } from '../byte-source/byte-source.js';
import { GgufMetadata } from './gguf-metadata.js';
import { GgufMetadataBudget } from './gguf-metadata-budget.js';
import {
  type GgufArray,
  type GgufTypedValue,
  type GgufValueType,
  ggufMinimumSize,
  ggufScalarSize,
  ggufValueTypeFromId,
} from './gguf-value.js';
import { SourceCursor } from './source-cursor.js';

/** "GGUF" read as a little-endian u32. */
export const GGUF_MAGIC = 0x46554747;
/** Alignment of the data section and of tensor offsets when `general.alignment` is absent. */
export const GGUF_DEFAULT_ALIGNMENT = 32;
/** ggml's limit on tensor dimensions. */
export const GGUF_MAX_DIMENSIONS = 4;
const MAX_ARRAY_NESTING = 16;

/** One tensor as a GGUF header describes it. */
export interface GgufTensorInfo {
  /** Tensor name. */
  readonly name: string;
  /** Dimensions in ggml order, innermost first (`[ne0, ne1, …]`); the row-major shape is the reverse. */
  readonly dimensions: readonly number[];
  /** The ggml type. */
  readonly type: GgmlTypeInfo;
  /** Offset of the data relative to the start of the data section. */
  readonly offset: number;
  /** Bytes of data. */
  readonly byteLength: number;
}

/** The parsed header of one GGUF file (one shard of a split model). */
export interface GgufHeader {
  /** Format version (2 or 3). */
  readonly version: number;
  /** Alignment of the data section and tensor offsets. */
  readonly alignment: number;
  /** Key/value metadata. */
  readonly metadata: GgufMetadata;
  /** Tensor descriptions in file order. */
  readonly tensorInfos: readonly GgufTensorInfo[];
  /** Absolute offset of the data section. */
  readonly dataOffset: number;
  /** Size of the file. */
  readonly byteLength: number;
}

function invalid(
  code: 'INVALID_FILE' | 'INVALID_TENSOR_INFO' | 'INVALID_METADATA',
  message: string,
  details: Record<string, unknown>,
): StrataError {
  return new StrataError(code, message, { details });
}

async function readLength(cursor: SourceCursor, what: string): Promise<number> {
  await cursor.need(8, what);
  return cursor.checkCount(cursor.u64Number(), 1, `bytes of ${what}`);
}

async function readString(cursor: SourceCursor, what: string): Promise<string> {
  const length = await readLength(cursor, what);
  await cursor.need(length, what);
  return cursor.text(length);
}

async function readArray(
  cursor: SourceCursor,
  where: string,
  depth: number,
  budget: GgufMetadataBudget,
): Promise<GgufArray> {
  if (depth > MAX_ARRAY_NESTING) {
    throw invalid('INVALID_FILE', `${where} nests arrays more than ${MAX_ARRAY_NESTING} deep; the file is damaged.`, {
      where,
    });
  }
  await cursor.need(12, `the array header of ${where}`);
  const elementType = ggufValueTypeFromId(cursor.u32(), `an array element of ${where}`);
  const minimum = ggufMinimumSize(elementType);
  const count = cursor.checkCount(cursor.u64(), minimum, `elements of ${where}`);
  const size = ggufScalarSize(elementType);
  // In memory: typed arrays hold each element in its own size, JavaScript arrays (bool, string, array) in an 8-byte slot.
  const elementBytes = size !== undefined && elementType !== 'bool' ? size : 8;
  budget.array(count, elementBytes, cursor.position + count * minimum);
  if (size !== undefined) {
    await cursor.need(count * size, `the elements of ${where}`);
    return readScalarArray(cursor, elementType, count, where);
  }
  if (elementType === 'string') {
    const values: string[] = new Array(count);
    for (let index = 0; index < count; index++) {
      if (!cursor.has(8)) await cursor.need(8, `string ${index} of ${where}`);
      const length = cursor.checkCount(cursor.u64Number(), 1, `bytes of string ${index} of ${where}`);
      if (!cursor.has(length)) await cursor.need(length, `string ${index} of ${where}`);
      budget.string(length, cursor.position + length);
      values[index] = cursor.text(length);
    }
    return { elementType, values };
  }
  const values: GgufArray[] = [];
  for (let index = 0; index < count; index++) {
    values.push(await readArray(cursor, `${where}[${index}]`, depth + 1, budget));
  }
  return { elementType: 'array', values };
}

function readScalarArray(cursor: SourceCursor, elementType: GgufValueType, count: number, where: string): GgufArray {
  const fill = <T extends { [index: number]: number | bigint }>(values: T, read: () => T[number]): T => {
    for (let index = 0; index < count; index++) values[index] = read();
    return values;
  };
  switch (elementType) {
    case 'u8':
      return { elementType, values: cursor.bytes(count).slice() };
    case 'i8':
      return { elementType, values: new Int8Array(cursor.bytes(count).slice().buffer) };
    case 'u16':
      return { elementType, values: fill(new Uint16Array(count), () => cursor.u16()) };
    case 'i16':
      return { elementType, values: fill(new Int16Array(count), () => cursor.i16()) };
    case 'u32':
      return { elementType, values: fill(new Uint32Array(count), () => cursor.u32()) };
    case 'i32':
      return { elementType, values: fill(new Int32Array(count), () => cursor.i32()) };
    case 'f32':
      return { elementType, values: fill(new Float32Array(count), () => cursor.f32()) };
    case 'f64':
      return { elementType, values: fill(new Float64Array(count), () => cursor.f64()) };
    case 'u64':
      return { elementType, values: fill(new BigUint64Array(count), () => cursor.u64()) };
    case 'i64':
      return { elementType, values: fill(new BigInt64Array(count), () => cursor.i64()) };
    default: {
      const values: boolean[] = new Array(count);
      for (let index = 0; index < count; index++) {
        const byte = cursor.u8();
        if (byte > 1) {
          throw invalid(
            'INVALID_METADATA',
            `GGUF metadata ${where}[${index}] is a bool stored as ${byte}; only 0 and 1 are valid.`,
            { where, index },
          );
        }
        values[index] = byte === 1;
      }
      return { elementType: 'bool', values };
    }
  }
}

async function readValue(
  cursor: SourceCursor,
  type: GgufValueType,
  key: string,
  budget: GgufMetadataBudget,
): Promise<GgufTypedValue> {
  const size = ggufScalarSize(type);
  if (size !== undefined) await cursor.need(size, `the value of '${key}'`);
  switch (type) {
    case 'u8':
      return { type, value: cursor.u8() };
    case 'i8':
      return { type, value: cursor.i8() };
    case 'u16':
      return { type, value: cursor.u16() };
    case 'i16':
      return { type, value: cursor.i16() };
    case 'u32':
      return { type, value: cursor.u32() };
    case 'i32':
      return { type, value: cursor.i32() };
    case 'f32':
      return { type, value: cursor.f32() };
    case 'f64':
      return { type, value: cursor.f64() };
    case 'u64':
      return { type, value: cursor.u64() };
    case 'i64':
      return { type, value: cursor.i64() };
    case 'bool': {
      const byte = cursor.u8();
      if (byte > 1)
        throw invalid(
          'INVALID_METADATA',
          `GGUF metadata key '${key}' is a bool stored as ${byte}; only 0 and 1 are valid.`,
          { key },
        );
      return { type, value: byte === 1 };
    }
    case 'string': {
      const value = await readString(cursor, `the value of '${key}'`);
      budget.string(value.length, cursor.position);
      return { type, value };
    }
    case 'array':
      return { type, value: await readArray(cursor, `'${key}'`, 0, budget) };
  }
}

function alignmentOf(metadata: GgufMetadata): number {
  const value = metadata.entry('general.alignment');
  if (value === undefined) return GGUF_DEFAULT_ALIGNMENT;
  const alignment = metadata.get('general.alignment', 'u32');
  if (value.type !== 'u32' || alignment === 0 || (alignment & (alignment - 1)) !== 0) {
    throw invalid(
      'INVALID_METADATA',
      `GGUF metadata key 'general.alignment' is ${value.type} ${alignment}; expected a u32 power of two.`,
      {
        key: 'general.alignment',
        expected: 'u32 power of two',
        actual: `${value.type} ${alignment}`,
      },
    );
  }
  return alignment;
}

async function readTensorInfo(
  cursor: SourceCursor,
  index: number,
): Promise<Omit<GgufTensorInfo, 'byteLength'> & { elements: number }> {
  const name = await readString(cursor, `the name of tensor ${index}`);
  await cursor.need(4, `the dimension count of '${name}'`);
  const dimensionCount = cursor.u32();
  if (dimensionCount > GGUF_MAX_DIMENSIONS) {
    throw invalid(
      'INVALID_TENSOR_INFO',
      `Tensor '${name}' has ${dimensionCount} dimensions; GGUF allows at most ${GGUF_MAX_DIMENSIONS}.`,
      { name, dimensionCount },
    );
  }
  await cursor.need(dimensionCount * 8 + 12, `the description of '${name}'`);
  const dimensions: number[] = [];
  let elements = 1;
  for (let axis = 0; axis < dimensionCount; axis++) {
    const size = Number(cursor.u64());
    elements *= size;
    if (!Number.isSafeInteger(size) || !Number.isSafeInteger(elements)) {
      throw invalid('INVALID_TENSOR_INFO', `Tensor '${name}' has dimensions too large to address (axis ${axis}).`, {
        name,
        axis,
      });
    }
    dimensions.push(size);
  }
  const type = ggmlTypeFromId(cursor.u32());
  const offset = Number(cursor.u64());
  if (!Number.isSafeInteger(offset)) {
    throw invalid('INVALID_TENSOR_INFO', `Tensor '${name}' has an offset beyond any file size.`, { name });
  }
  const rowLength = dimensions[0] ?? 1;
  if (rowLength % type.blockSize !== 0) {
    throw invalid(
      'INVALID_TENSOR_INFO',
      `Tensor '${name}' rows of ${rowLength} are not a whole number of ${type.name} blocks of ${type.blockSize}.`,
      {
        name,
        type: type.name,
      },
    );
  }
  return { name, dimensions, type, offset, elements };
}

/**
 * Reads and validates the header of one GGUF file (v2 or v3) from a ByteSource, reading only the header's bytes.
 * Every count and length is checked against the bytes left before anything is allocated; tensor offsets must be aligned,
 * inside the file and non-overlapping.
 */
export async function readGgufHeader(source: ByteSource): Promise<GgufHeader> {
  const cursor = new SourceCursor(source);
  await cursor.need(8, 'the GGUF magic and version');
  const magic = cursor.u32();
  if (magic !== GGUF_MAGIC) {
    throw invalid('INVALID_FILE', `${source.name} is not a GGUF file (it does not start with "GGUF").`, {
      name: source.name,
      magic,
    });
  }
  const version = cursor.u32();
  if (version !== 2 && version !== 3) {
    const swapped =
      (((version & 0xff) << 24) |
        (((version >>> 8) & 0xff) << 16) |
        (((version >>> 16) & 0xff) << 8) |
        (version >>> 24)) >>>
      0;
    const hint =
      swapped === 2 || swapped === 3
        ? 'it is a big-endian GGUF file, which strata does not read; use a little-endian conversion'
        : 'strata reads versions 2 and 3 (convert the model again with a current llama.cpp)';
    throw new StrataError('UNSUPPORTED_VERSION', `${source.name} is GGUF version ${version}; ${hint}.`, {
      details: { name: source.name, version },
    });
  }
  await cursor.need(16, 'the tensor and key counts');
  const tensorCountRaw = cursor.u64();
  const keyCountRaw = cursor.u64();
  const keyCount = cursor.checkCount(keyCountRaw, 13, 'metadata keys');
  const values = new Map<string, GgufTypedValue>();
  const budget = new GgufMetadataBudget(source.name);
  for (let index = 0; index < keyCount; index++) {
    const key = await readString(cursor, `metadata key ${index}`);
    budget.key(key.length, cursor.position);
    await cursor.need(4, `the value type of '${key}'`);
    const type = ggufValueTypeFromId(cursor.u32(), `metadata key '${key}'`);
    if (values.has(key)) throw invalid('INVALID_FILE', `${source.name} has metadata key '${key}' twice.`, { key });
    values.set(key, await readValue(cursor, type, key, budget));
  }
  const metadata = new GgufMetadata(values);
  const alignment = alignmentOf(metadata);

  const tensorCount = cursor.checkCount(tensorCountRaw, 24, 'tensors');
  const raw: (Omit<GgufTensorInfo, 'byteLength'> & { elements: number })[] = [];
  const names = new Set<string>();
  for (let index = 0; index < tensorCount; index++) {
    const info = await readTensorInfo(cursor, index);
    if (names.has(info.name))
      throw invalid('INVALID_FILE', `${source.name} describes tensor '${info.name}' twice.`, { name: info.name });
    names.add(info.name);
    raw.push(info);
  }
  const dataOffset = Math.ceil(cursor.position / alignment) * alignment;
  const tensorInfos: GgufTensorInfo[] = raw.map(({ name, dimensions, type, offset, elements }) => {
    const byteLength = ggmlByteLength(type, elements);
    if (offset % alignment !== 0) {
      throw invalid(
        'INVALID_TENSOR_INFO',
        `Tensor '${name}' starts at data offset ${offset}, not a multiple of the alignment ${alignment}.`,
        { name, offset, alignment },
      );
    }
    if (dataOffset + offset > source.byteLength) {
      // Checked for empty tensors too: a tensor never starts outside its file.
      throw new StrataError(
        'TRUNCATED_FILE',
        `Tensor '${name}' starts at byte ${dataOffset + offset}, past the end of ${source.name} (${source.byteLength} bytes); the file is truncated or damaged.`,
        { details: { name, offset: dataOffset + offset, fileLength: source.byteLength } },
      );
    }
    if (byteLength > 0 && dataOffset + offset + byteLength > source.byteLength) {
      throw new StrataError(
        'TRUNCATED_FILE',
        `Tensor '${name}' spans bytes ${dataOffset + offset}-${dataOffset + offset + byteLength} but ${source.name} ends at ${source.byteLength}; the file is truncated (download it again).`,
        { details: { name, offset: dataOffset + offset, byteLength, fileLength: source.byteLength } },
      );
    }
    return { name, dimensions, type, offset, byteLength };
  });
  const sorted = tensorInfos.filter((info) => info.byteLength > 0).sort((a, b) => a.offset - b.offset);
  for (let index = 1; index < sorted.length; index++) {
    const previous = sorted[index - 1] as GgufTensorInfo;
    const current = sorted[index] as GgufTensorInfo;
    if (current.offset < previous.offset + previous.byteLength) {
      throw invalid(
        'INVALID_TENSOR_INFO',
        `Tensors '${previous.name}' and '${current.name}' overlap in ${source.name}; the file is damaged.`,
        {
          names: [previous.name, current.name],
        },
      );
    }
  }
  return { version, alignment, metadata, tensorInfos, dataOffset, byteLength: source.byteLength };
}
