import { StrataError } from '@strata/core';
import { GgufMetadata } from '../gguf/gguf-metadata.js';

/**
 * GGUF metadata as the tokenizer reads it: the {@link GgufMetadata} of an opened file, or a plain object from key to
 * JavaScript value (strings, numbers or bigints, booleans, and arrays, plain or typed, of those) for tests and tools.
 */
export type TokenizerMetadata = GgufMetadata | Readonly<Record<string, unknown>>;

/** Reads one key from {@link TokenizerMetadata} as a plain JavaScript value (arrays as their element storage). */
export function metadataValue(metadata: TokenizerMetadata, key: string): unknown {
  if (metadata instanceof GgufMetadata) {
    const entry = metadata.entry(key);
    if (entry === undefined) return undefined;
    return entry.type === 'array' ? entry.value.values : entry.value;
  }
  return (metadata as Readonly<Record<string, unknown>>)[key];
}

function invalid(key: string, expected: string): StrataError {
  return new StrataError('INVALID_METADATA', `GGUF key '${key}' should be ${expected}; re-convert the model`, {
    details: { key },
  });
}

/** A string value, or undefined when the key is absent. */
export function optionalString(metadata: TokenizerMetadata, key: string): string | undefined {
  const value = metadataValue(metadata, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'string') throw invalid(key, 'a string');
  return value;
}

/** An integer value, or undefined when the key is absent. */
export function optionalInteger(metadata: TokenizerMetadata, key: string): number | undefined {
  const value = metadataValue(metadata, key);
  if (value === undefined) return undefined;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value !== 'number' || !Number.isInteger(value)) throw invalid(key, 'an integer');
  return value;
}

/** A boolean value, or undefined when the key is absent. */
export function optionalBoolean(metadata: TokenizerMetadata, key: string): boolean | undefined {
  const value = metadataValue(metadata, key);
  if (value === undefined) return undefined;
  if (typeof value !== 'boolean') throw invalid(key, 'a boolean');
  return value;
}

/** An array of strings, or undefined when the key is absent. */
export function optionalStringArray(metadata: TokenizerMetadata, key: string): readonly string[] | undefined {
  const value = metadataValue(metadata, key);
  if (value === undefined) return undefined;
  if (!Array.isArray(value) || (value.length > 0 && typeof value[0] !== 'string'))
    throw invalid(key, 'an array of strings');
  return value as string[];
}

/** An array of numbers (plain, typed, or of bigints), or undefined when the key is absent. */
export function optionalNumberArray(metadata: TokenizerMetadata, key: string): ArrayLike<number> | undefined {
  const value = metadataValue(metadata, key);
  if (value === undefined) return undefined;
  if (ArrayBuffer.isView(value) && !(value instanceof DataView)) {
    if (value instanceof BigInt64Array || value instanceof BigUint64Array) return Array.from(value, Number);
    return value as unknown as ArrayLike<number>;
  }
  if (!Array.isArray(value)) throw invalid(key, 'an array of numbers');
  if (value.length > 0 && typeof value[0] === 'bigint') return value.map(Number);
  if (value.length > 0 && typeof value[0] !== 'number') throw invalid(key, 'an array of numbers');
  return value as number[];
}
