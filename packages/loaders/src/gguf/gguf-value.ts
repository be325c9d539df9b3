import { StrataError } from '@strata/core';

/** The 13 GGUF metadata value types, by the names strata uses. */
export type GgufValueType =
  | 'u8'
  | 'i8'
  | 'u16'
  | 'i16'
  | 'u32'
  | 'i32'
  | 'f32'
  | 'bool'
  | 'string'
  | 'array'
  | 'u64'
  | 'i64'
  | 'f64';

/** Value types by their GGUF id (the index). */
export const GGUF_VALUE_TYPES: readonly GgufValueType[] = Object.freeze([
  'u8',
  'i8',
  'u16',
  'i16',
  'u32',
  'i32',
  'f32',
  'bool',
  'string',
  'array',
  'u64',
  'i64',
  'f64',
] as const);

/** The GGUF id of a value type. */
export function ggufValueTypeId(type: GgufValueType): number {
  return GGUF_VALUE_TYPES.indexOf(type);
}

/** The value type of a GGUF id; throws `UNKNOWN_VALUE_TYPE`. */
export function ggufValueTypeFromId(id: number, where: string): GgufValueType {
  const type = GGUF_VALUE_TYPES[id];
  if (type === undefined) {
    throw new StrataError(
      'UNKNOWN_VALUE_TYPE',
      `${where} has unknown GGUF value type id ${id} (known: 0-12); the file is damaged or from a newer GGUF version.`,
      {
        details: { id, where },
      },
    );
  }
  return type;
}

/** Number value types whose values are JavaScript numbers. */
export type GgufNumberType = 'u8' | 'i8' | 'u16' | 'i16' | 'u32' | 'i32' | 'f32' | 'f64';
/** 64-bit integer value types, held as bigint. */
export type GgufBigIntType = 'u64' | 'i64';

/** The array storage of each element type: typed arrays for numbers, plain arrays for the rest. */
export interface GgufArrayStorage {
  /** GGUF type 0 (uint8). */
  u8: Uint8Array;
  /** GGUF type 1 (int8). */
  i8: Int8Array;
  /** GGUF type 2 (uint16). */
  u16: Uint16Array;
  /** GGUF type 3 (int16). */
  i16: Int16Array;
  /** GGUF type 4 (uint32). */
  u32: Uint32Array;
  /** GGUF type 5 (int32). */
  i32: Int32Array;
  /** GGUF type 6 (float32). */
  f32: Float32Array;
  /** GGUF type 12 (float64). */
  f64: Float64Array;
  /** GGUF type 10 (uint64), as bigints. */
  u64: BigUint64Array;
  /** GGUF type 11 (int64), as bigints. */
  i64: BigInt64Array;
  /** GGUF type 7 (bool, one byte each; the reader rejects bytes other than 0 and 1). */
  bool: readonly boolean[];
  /** GGUF type 8 (UTF-8 string with a u64 byte length). */
  string: readonly string[];
  /** GGUF type 9 (nested array, each with its own element type). */
  array: readonly GgufArray[];
}

/** A GGUF array: its element type and the elements (arrays may nest). */
export type GgufArray = {
  [T in GgufValueType]: { readonly elementType: T; readonly values: GgufArrayStorage[T] };
}[GgufValueType];

/** A typed GGUF metadata value, as read and as written. */
export type GgufTypedValue =
  | { readonly type: GgufNumberType; readonly value: number }
  | { readonly type: GgufBigIntType; readonly value: bigint }
  | { readonly type: 'bool'; readonly value: boolean }
  | { readonly type: 'string'; readonly value: string }
  | { readonly type: 'array'; readonly value: GgufArray };

/** Numeric typed arrays a GGUF array may hold (64-bit integer arrays excepted). */
export type GgufNumberArray =
  | Uint8Array
  | Int8Array
  | Uint16Array
  | Int16Array
  | Uint32Array
  | Int32Array
  | Float32Array
  | Float64Array;

/** Fixed byte size of a scalar value type; undefined for strings and arrays. */
export function ggufScalarSize(type: GgufValueType): number | undefined {
  switch (type) {
    case 'u8':
    case 'i8':
    case 'bool':
      return 1;
    case 'u16':
    case 'i16':
      return 2;
    case 'u32':
    case 'i32':
    case 'f32':
      return 4;
    case 'u64':
    case 'i64':
    case 'f64':
      return 8;
    default:
      return undefined;
  }
}

/** Smallest encoded size of one value of a type: strings take at least their 8-byte length, arrays 12 bytes. */
export function ggufMinimumSize(type: GgufValueType): number {
  return ggufScalarSize(type) ?? (type === 'string' ? 8 : 12);
}

/** Constructors of typed values for the writer: `gguf.u32(4096)`, `gguf.stringArray(tokens)`. */
export const ggufValue = {
  u8: (value: number): GgufTypedValue => ({ type: 'u8', value }),
  i8: (value: number): GgufTypedValue => ({ type: 'i8', value }),
  u16: (value: number): GgufTypedValue => ({ type: 'u16', value }),
  i16: (value: number): GgufTypedValue => ({ type: 'i16', value }),
  u32: (value: number): GgufTypedValue => ({ type: 'u32', value }),
  i32: (value: number): GgufTypedValue => ({ type: 'i32', value }),
  f32: (value: number): GgufTypedValue => ({ type: 'f32', value }),
  f64: (value: number): GgufTypedValue => ({ type: 'f64', value }),
  u64: (value: bigint | number): GgufTypedValue => ({ type: 'u64', value: BigInt(value) }),
  i64: (value: bigint | number): GgufTypedValue => ({ type: 'i64', value: BigInt(value) }),
  bool: (value: boolean): GgufTypedValue => ({ type: 'bool', value }),
  string: (value: string): GgufTypedValue => ({ type: 'string', value }),
  array: (value: GgufArray): GgufTypedValue => ({ type: 'array', value }),
  stringArray: (values: readonly string[]): GgufTypedValue => ({
    type: 'array',
    value: { elementType: 'string', values },
  }),
  f32Array: (values: ArrayLike<number>): GgufTypedValue => ({
    type: 'array',
    value: { elementType: 'f32', values: Float32Array.from(values) },
  }),
  i32Array: (values: ArrayLike<number>): GgufTypedValue => ({
    type: 'array',
    value: { elementType: 'i32', values: Int32Array.from(values) },
  }),
  u32Array: (values: ArrayLike<number>): GgufTypedValue => ({
    type: 'array',
    value: { elementType: 'u32', values: Uint32Array.from(values) },
  }),
} as const;
