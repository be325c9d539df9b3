import { StrataError } from '@strata/core';

/** Throws INVALID_CONFIG with a message that names the key and the source. */
export function invalidConfig(source: string, message: string, details: Record<string, unknown> = {}): StrataError {
  return new StrataError('INVALID_CONFIG', `${source}: ${message}`, { details: { source, ...details } });
}

/** A positive integer, or INVALID_CONFIG naming the key. */
export function requirePositiveInteger(source: string, key: string, value: number | undefined): number {
  if (value === undefined)
    throw invalidConfig(source, `'${key}' is missing; the model cannot be built without it.`, { key });
  if (!Number.isInteger(value) || value <= 0)
    throw invalidConfig(source, `'${key}' must be a positive integer; got ${value}.`, { key, value });
  return value;
}

/** A positive finite number, or INVALID_CONFIG naming the key. */
export function requirePositiveNumber(source: string, key: string, value: number | undefined): number {
  if (value === undefined)
    throw invalidConfig(source, `'${key}' is missing; the model cannot be built without it.`, { key });
  if (!Number.isFinite(value) || value <= 0)
    throw invalidConfig(source, `'${key}' must be a positive number; got ${value}.`, { key, value });
  return value;
}

/** Checks the head geometry every transformer needs. */
export function checkGeometry(
  source: string,
  geometry: {
    hiddenSize: number;
    heads: number;
    keyValueHeads: number;
    headDimensions: number;
    rotaryDimensions: number;
    layerCount: number;
  },
): void {
  if (geometry.heads % geometry.keyValueHeads !== 0) {
    throw invalidConfig(
      source,
      `key/value heads (${geometry.keyValueHeads}) must divide attention heads (${geometry.heads}).`,
      geometry,
    );
  }
  if (geometry.rotaryDimensions % 2 !== 0 || geometry.rotaryDimensions > geometry.headDimensions) {
    throw invalidConfig(
      source,
      `rotary dimensions (${geometry.rotaryDimensions}) must be even and at most the head size (${geometry.headDimensions}).`,
      geometry,
    );
  }
}
