import { StrataError } from '@strata/core';
import { tightenJsonSchema } from './tighten-json-schema.js';

/** Keywords that constrain output and are turned into grammar (llama.cpp's `json-schema-to-grammar` subset). */
const CONSTRAINING = new Set([
  'type',
  'properties',
  'required',
  'additionalProperties',
  'enum',
  'const',
  'anyOf',
  'oneOf',
  'items',
  'prefixItems',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'pattern',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  '$ref',
  '$defs',
  'definitions',
]);

/** Keywords that only annotate a schema and never change what matches. */
const ANNOTATIONS = new Set([
  '$schema',
  '$id',
  '$comment',
  'title',
  'description',
  'default',
  'examples',
  'deprecated',
  'readOnly',
  'writeOnly',
]);

const TYPES = new Set(['object', 'array', 'string', 'number', 'integer', 'boolean', 'null']);

function unsupported(message: string, path: string, keyword?: string): never {
  throw new StrataError('UNSUPPORTED_SCHEMA', message, {
    details: { path, ...(keyword === undefined ? {} : { keyword }) },
  });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Checks that a JSON Schema uses only the keywords strata turns into a grammar: `type`, `properties`/`required`,
 * `additionalProperties`, `enum`/`const`, `anyOf`/`oneOf`, arrays (`items`, `prefixItems`, `minItems`/`maxItems`),
 * strings (`minLength`/`maxLength`, `pattern`), number ranges, and local `$ref` into `$defs`/`definitions`; annotations
 * (`title`, `description`, …) are ignored. Anything else throws `UNSUPPORTED_SCHEMA` naming the keyword and its JSON
 * pointer, because dropping it would silently give a looser grammar than the schema.
 */
export function checkJsonSchema(schema: unknown): void {
  if (schema === true || (isObject(schema) && Object.keys(schema).length === 0)) return;
  if (!isObject(schema)) unsupported('A JSON schema must be an object (or true).', '#');
  visit(schema, '#', schema);
  // Length bounds XGrammar would enforce loosely are refused here too, so every check happens before compiling.
  tightenJsonSchema(schema);
}

function resolveReference(root: Record<string, unknown>, reference: unknown, path: string): void {
  if (typeof reference !== 'string' || !/^#\/(\$defs|definitions)\/[^/]+$/.test(reference)) {
    unsupported(
      `${path}/$ref is ${JSON.stringify(reference)}; only local references "#/$defs/<name>" or "#/definitions/<name>" are supported.`,
      `${path}/$ref`,
      '$ref',
    );
  }
  const [, group, name] = reference.split('/') as [string, string, string];
  const definitions = root[group];
  if (!isObject(definitions) || !(name in definitions)) {
    unsupported(`${path}/$ref points to ${reference}, which the schema does not define.`, `${path}/$ref`, '$ref');
  }
}

function visit(node: unknown, path: string, root: Record<string, unknown>): void {
  if (typeof node === 'boolean') return;
  if (!isObject(node)) unsupported(`${path} must be a schema object or a boolean.`, path);
  const types = Array.isArray(node.type) ? node.type : [node.type];
  for (const keyword of ['minimum', 'maximum', 'exclusiveMinimum', 'exclusiveMaximum']) {
    if (keyword in node && !(types.length === 1 && types[0] === 'integer')) {
      // XGrammar's range grammar for fractional numbers lets the bound's integer part take a fraction (1.25 ≤ 1 passes).
      unsupported(
        `${path}/${keyword}: ranges are enforced only on {"type": "integer"}; a fractional number range would be enforced loosely. Use an integer, or drop the bound.`,
        `${path}/${keyword}`,
        keyword,
      );
    }
  }
  for (const [keyword, value] of Object.entries(node)) {
    if (ANNOTATIONS.has(keyword)) continue;
    if (!CONSTRAINING.has(keyword)) {
      unsupported(
        `The JSON schema keyword '${keyword}' (at ${path}) is not supported for constrained generation; remove it or express it with the supported keywords (type, properties, required, additionalProperties, enum, const, anyOf, oneOf, items, min/maxItems, min/maxLength, pattern, minimum/maximum, $ref/$defs).`,
        `${path}/${keyword}`,
        keyword,
      );
    }
    const here = `${path}/${keyword}`;
    switch (keyword) {
      case 'type': {
        const types = Array.isArray(value) ? value : [value];
        for (const type of types) {
          if (typeof type !== 'string' || !TYPES.has(type))
            unsupported(`${here} has the unknown type ${JSON.stringify(type)}.`, here, keyword);
        }
        break;
      }
      case 'properties':
      case '$defs':
      case 'definitions':
        if (!isObject(value)) unsupported(`${here} must be an object of schemas.`, here, keyword);
        for (const [name, child] of Object.entries(value)) visit(child, `${here}/${name}`, root);
        break;
      case 'anyOf':
      case 'oneOf':
      case 'prefixItems':
        if (!Array.isArray(value) || value.length === 0)
          unsupported(`${here} must be a non-empty array of schemas.`, here, keyword);
        for (const [index, child] of value.entries()) visit(child, `${here}/${index}`, root);
        break;
      case 'items':
      case 'additionalProperties':
        visit(value, here, root);
        break;
      case 'required':
        if (!Array.isArray(value) || value.some((name) => typeof name !== 'string')) {
          unsupported(`${here} must be an array of property names.`, here, keyword);
        }
        break;
      case 'enum':
        if (!Array.isArray(value) || value.length === 0)
          unsupported(`${here} must be a non-empty array.`, here, keyword);
        break;
      case 'pattern':
        if (typeof value !== 'string') unsupported(`${here} must be a string.`, here, keyword);
        break;
      case '$ref':
        resolveReference(root, value, path);
        break;
      case 'const':
        break;
      default:
        if (typeof value !== 'number' || !Number.isFinite(value))
          unsupported(`${here} must be a finite number.`, here, keyword);
    }
  }
}
