import { StrataError } from '@strata/core';
import { jsonSafePattern } from './json-safe-pattern.js';

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Rewrites the parts of a (checked) JSON schema that XGrammar would enforce loosely into equivalent-or-stricter forms:
 * a string with `minLength`/`maxLength` becomes a `pattern` of unescaped, non-control characters, because XGrammar's
 * length-bounded string lets raw control characters through (invalid JSON); a `pattern` is made JSON-safe
 * (`jsonSafePattern`). Refuses (`UNSUPPORTED_SCHEMA`) length
 * bounds beside a `pattern` or on a node that is not exactly `{"type": "string"}`, where XGrammar keeps only one.
 * Returns a new schema; the input is not modified.
 */
export function tightenJsonSchema(schema: unknown, path = '#'): unknown {
  if (Array.isArray(schema)) return schema.map((item, index) => tightenJsonSchema(item, `${path}/${index}`));
  if (!isObject(schema)) return schema;
  const result: Record<string, unknown> = {};
  for (const [keyword, value] of Object.entries(schema)) {
    // enum and const hold values, not schemas.
    result[keyword] =
      keyword === 'enum' || keyword === 'const' ? value : tightenJsonSchema(value, `${path}/${keyword}`);
  }
  const hasLength = 'minLength' in schema || 'maxLength' in schema;
  if (typeof schema.pattern === 'string') result.pattern = jsonSafePattern(schema.pattern, `${path}/pattern`);
  if (!hasLength) return result;
  if (schema.type !== 'string' || 'pattern' in schema) {
    const keyword = 'minLength' in schema ? 'minLength' : 'maxLength';
    throw new StrataError(
      'UNSUPPORTED_SCHEMA',
      `${path}/${keyword}: string length bounds are enforced only on {"type": "string"} without a pattern; fold the bound into the pattern instead.`,
      { details: { path: `${path}/${keyword}`, keyword } },
    );
  }
  const minimum = Number(schema.minLength ?? 0);
  const maximum = schema.maxLength === undefined ? '' : String(Number(schema.maxLength));
  const { minLength: _minimum, maxLength: _maximum, ...rest } = result;
  return { ...rest, pattern: `^[^"\\\\\\u0000-\\u001f]{${minimum},${maximum}}$` };
}
