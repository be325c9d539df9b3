import type { GrammarTokenizer } from '../src/index.js';

/** The schema and output both mask benchmarks use. */

/** A nested schema: objects, arrays, an enum, integer ranges, numbers, required keys. */
export const SCHEMA = {
  type: 'object',
  properties: {
    id: { type: 'integer', minimum: 0, maximum: 1000000 },
    name: { type: 'string' },
    status: { enum: ['active', 'suspended', 'deleted'] },
    tags: { type: 'array', items: { type: 'string' }, maxItems: 8 },
    location: {
      type: 'object',
      properties: {
        city: { type: 'string' },
        coordinates: { type: 'array', items: { type: 'number' }, minItems: 2, maxItems: 2 },
      },
      required: ['city', 'coordinates'],
    },
    history: {
      type: 'array',
      items: {
        type: 'object',
        properties: { year: { type: 'integer' }, event: { type: 'string' }, score: { type: 'number' } },
        required: ['year', 'event'],
      },
    },
  },
  required: ['id', 'name', 'status', 'tags', 'location', 'history'],
};

/** A document of the schema, written with the separators the grammar enforces (", " and ": "). */
export const TEXT =
  '{"id": 48213, "name": "Ada Lovelace — analytical engine", "status": "active", "tags": ["math", "computing", "poetry"], ' +
  '"location": {"city": "London", "coordinates": [51.5072, -0.1276]}, "history": [{"year": 1843, "event": ' +
  '"Published the notes on the engine", "score": 9.5}, {"year": 1852, "event": "Died in Marylebone"}]}';

/** falcon's vocabulary extended to `size` tokens by merging pairs of its tokens (deterministic). */
export function extendedVocabulary(base: GrammarTokenizer, size: number): GrammarTokenizer {
  const decoder = new TextDecoder();
  const merged: Uint8Array[] = [];
  let state = 12345;
  const next = () => {
    state = (state * 1103515245 + 12345) % 2 ** 31;
    return state % base.vocabularySize;
  };
  while (base.vocabularySize + merged.length < size) {
    const left = base.tokenToBytes(next());
    const right = base.tokenToBytes(next());
    if (left.length === 0 || right.length === 0) continue;
    const bytes = new Uint8Array(left.length + right.length);
    bytes.set(left);
    bytes.set(right, left.length);
    merged.push(bytes);
  }
  return {
    vocabularySize: size,
    endOfGenerationIds: base.endOfGenerationIds,
    tokenToBytes: (id) => (id < base.vocabularySize ? base.tokenToBytes(id) : merged[id - base.vocabularySize]!),
    decode: (ids, options) =>
      ids.every((id) => id < base.vocabularySize)
        ? base.decode(ids, options)
        : decoder.decode(merged[ids[0]! - base.vocabularySize]),
  };
}
