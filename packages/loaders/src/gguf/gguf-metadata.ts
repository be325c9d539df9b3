import { StrataError } from '@strata/core';
import type { GgufArray, GgufNumberArray, GgufTypedValue } from './gguf-value.js';

/** What each kind of {@link GgufMetadata.get} returns. */
export interface GgufKindValue {
  /** A `string` value. */
  string: string;
  /** A `bool` value. */
  bool: boolean;
  /** Any numeric value as a number (64-bit integers only when they are safe integers). */
  number: number;
  /** Any integer value as a safe-integer number. */
  integer: number;
  /** An integer value in 0 … 2³²−1. */
  u32: number;
  /** An integer value in −2³¹ … 2³¹−1. */
  i32: number;
  /** Any numeric value as a number (the natural reading of f32 and f64 keys). */
  f32: number;
  /** A non-negative integer value as bigint. */
  u64: bigint;
  /** Any integer value as bigint. */
  i64: bigint;
  /** An array of strings. */
  stringArray: readonly string[];
  /** A numeric array as its typed array (64-bit integer arrays become Float64Array when every element is safe). */
  numberArray: GgufNumberArray;
  /** A numeric array converted to Float32Array (shared when it already is one). */
  float32Array: Float32Array;
  /** An integer array converted to Int32Array (shared when it already is one); every element must fit. */
  int32Array: Int32Array;
  /** Any array. */
  array: GgufArray;
}

/** The kinds {@link GgufMetadata.get} accepts. */
export type GgufKind = keyof GgufKindValue;

const INTEGER_TYPES = new Set(['u8', 'i8', 'u16', 'i16', 'u32', 'i32', 'u64', 'i64']);

function describe(value: GgufTypedValue): string {
  return value.type === 'array'
    ? `array of ${value.value.elementType} (${value.value.values.length} elements)`
    : value.type;
}

/** Converts one typed value to a kind, or returns undefined when it does not convert. */
function convert(value: GgufTypedValue, kind: GgufKind): GgufKindValue[GgufKind] | undefined {
  switch (kind) {
    case 'string':
      return value.type === 'string' ? value.value : undefined;
    case 'bool':
      return value.type === 'bool' ? value.value : undefined;
    case 'number':
    case 'f32':
    case 'integer':
    case 'u32':
    case 'i32': {
      if (value.type === 'string' || value.type === 'bool' || value.type === 'array') return undefined;
      if (kind !== 'number' && kind !== 'f32' && !INTEGER_TYPES.has(value.type)) return undefined;
      const number = typeof value.value === 'bigint' ? Number(value.value) : value.value;
      if (typeof value.value === 'bigint' && !Number.isSafeInteger(number)) return undefined;
      if (kind === 'u32' && !(number >= 0 && number <= 0xffffffff)) return undefined;
      if (kind === 'i32' && !(number >= -0x80000000 && number <= 0x7fffffff)) return undefined;
      return number;
    }
    case 'u64':
    case 'i64': {
      if (!INTEGER_TYPES.has(value.type)) return undefined;
      const big = BigInt(value.value as number | bigint);
      return kind === 'u64' && big < 0n ? undefined : big;
    }
    case 'array':
      return value.type === 'array' ? value.value : undefined;
    case 'stringArray':
      return value.type === 'array' && value.value.elementType === 'string' ? value.value.values : undefined;
    case 'numberArray':
    case 'float32Array':
    case 'int32Array': {
      if (value.type !== 'array') return undefined;
      const array = value.value;
      if (array.elementType === 'string' || array.elementType === 'bool' || array.elementType === 'array')
        return undefined;
      const integer = INTEGER_TYPES.has(array.elementType);
      if (kind === 'int32Array' && !integer) return undefined;
      let numbers: GgufNumberArray;
      if (array.elementType === 'u64' || array.elementType === 'i64') {
        numbers = new Float64Array(array.values.length);
        for (let index = 0; index < array.values.length; index++) {
          const element = Number(array.values[index]);
          if (!Number.isSafeInteger(element)) return undefined;
          numbers[index] = element;
        }
      } else {
        numbers = array.values;
      }
      if (kind === 'numberArray') return numbers;
      if (kind === 'float32Array') return numbers instanceof Float32Array ? numbers : Float32Array.from(numbers);
      if (numbers instanceof Int32Array) return numbers;
      for (const element of numbers) if (element < -0x80000000 || element > 0x7fffffff) return undefined;
      return Int32Array.from(numbers);
    }
  }
}

/**
 * The key/value metadata of a GGUF file with typed access. `get*` throw `MISSING_METADATA` when the key is absent and
 * `INVALID_METADATA` (naming the key, the expected and the actual type) when the value does not convert; `find*`
 * return undefined for an absent key and throw the same `INVALID_METADATA` for a present one of the wrong type.
 */
export class GgufMetadata {
  readonly #values: ReadonlyMap<string, GgufTypedValue>;

  /** Wraps key/value pairs (in file order). */
  constructor(values: Iterable<readonly [string, GgufTypedValue]>) {
    this.#values = new Map(values);
  }

  /** Number of keys. */
  get size(): number {
    return this.#values.size;
  }

  /** True when the key is present. */
  has(key: string): boolean {
    return this.#values.has(key);
  }

  /** Keys in file order. */
  keys(): IterableIterator<string> {
    return this.#values.keys();
  }

  /** Key and typed value pairs in file order (what {@link writeGguf} takes back). */
  entries(): IterableIterator<[string, GgufTypedValue]> {
    return this.#values.entries();
  }

  /** The raw typed value of a key, or undefined. */
  entry(key: string): GgufTypedValue | undefined {
    return this.#values.get(key);
  }

  /** A key's value converted to `kind`; throws `MISSING_METADATA` or `INVALID_METADATA`. */
  get<K extends GgufKind>(key: string, kind: K): GgufKindValue[K] {
    const value = this.find(key, kind);
    if (value === undefined) {
      throw new StrataError(
        'MISSING_METADATA',
        `GGUF metadata key '${key}' (${kind}) is missing; the file was converted without it.`,
        {
          details: { key, expected: kind },
        },
      );
    }
    return value;
  }

  /** A key's value converted to `kind`, undefined when absent; throws `INVALID_METADATA` when present but wrong. */
  find<K extends GgufKind>(key: string, kind: K): GgufKindValue[K] | undefined {
    const value = this.#values.get(key);
    if (value === undefined) return undefined;
    const converted = convert(value, kind);
    if (converted === undefined) {
      const shown = value.type === 'array' ? '' : `: ${String(value.value).slice(0, 40)}`;
      throw new StrataError(
        'INVALID_METADATA',
        `GGUF metadata key '${key}' is ${describe(value)}${shown}; expected ${kind}.`,
        {
          details: { key, expected: kind, actual: describe(value) },
        },
      );
    }
    return converted as GgufKindValue[K];
  }

  /** `get(key, 'string')`. */
  getString(key: string): string {
    return this.get(key, 'string');
  }
  /** `find(key, 'string')`. */
  findString(key: string): string | undefined {
    return this.find(key, 'string');
  }
  /** `get(key, 'bool')`. */
  getBool(key: string): boolean {
    return this.get(key, 'bool');
  }
  /** `find(key, 'bool')`. */
  findBool(key: string): boolean | undefined {
    return this.find(key, 'bool');
  }
  /** `get(key, 'number')`. */
  getNumber(key: string): number {
    return this.get(key, 'number');
  }
  /** `find(key, 'number')`. */
  findNumber(key: string): number | undefined {
    return this.find(key, 'number');
  }
  /** `get(key, 'integer')`. */
  getInteger(key: string): number {
    return this.get(key, 'integer');
  }
  /** `find(key, 'integer')`. */
  findInteger(key: string): number | undefined {
    return this.find(key, 'integer');
  }
  /** `get(key, 'u32')`. */
  getU32(key: string): number {
    return this.get(key, 'u32');
  }
  /** `find(key, 'u32')`. */
  findU32(key: string): number | undefined {
    return this.find(key, 'u32');
  }
  /** `get(key, 'i32')`. */
  getI32(key: string): number {
    return this.get(key, 'i32');
  }
  /** `find(key, 'i32')`. */
  findI32(key: string): number | undefined {
    return this.find(key, 'i32');
  }
  /** `get(key, 'f32')`. */
  getF32(key: string): number {
    return this.get(key, 'f32');
  }
  /** `find(key, 'f32')`. */
  findF32(key: string): number | undefined {
    return this.find(key, 'f32');
  }
  /** `get(key, 'u64')`. */
  getU64(key: string): bigint {
    return this.get(key, 'u64');
  }
  /** `find(key, 'u64')`. */
  findU64(key: string): bigint | undefined {
    return this.find(key, 'u64');
  }
  /** `get(key, 'array')`. */
  getArray(key: string): GgufArray {
    return this.get(key, 'array');
  }
  /** `find(key, 'array')`. */
  findArray(key: string): GgufArray | undefined {
    return this.find(key, 'array');
  }
  /** `get(key, 'stringArray')`. */
  getStringArray(key: string): readonly string[] {
    return this.get(key, 'stringArray');
  }
  /** `find(key, 'stringArray')`. */
  findStringArray(key: string): readonly string[] | undefined {
    return this.find(key, 'stringArray');
  }
  /** `get(key, 'numberArray')`. */
  getNumberArray(key: string): GgufNumberArray {
    return this.get(key, 'numberArray');
  }
  /** `find(key, 'numberArray')`. */
  findNumberArray(key: string): GgufNumberArray | undefined {
    return this.find(key, 'numberArray');
  }
  /** `get(key, 'float32Array')`. */
  getFloat32Array(key: string): Float32Array {
    return this.get(key, 'float32Array');
  }
  /** `find(key, 'float32Array')`. */
  findFloat32Array(key: string): Float32Array | undefined {
    return this.find(key, 'float32Array');
  }
  /** `get(key, 'int32Array')`. */
  getInt32Array(key: string): Int32Array {
    return this.get(key, 'int32Array');
  }
  /** `find(key, 'int32Array')`. */
  findInt32Array(key: string): Int32Array | undefined {
    return this.find(key, 'int32Array');
  }
}
