import type { Random } from './mutate.js';

/** Values that break readers of JSON documents: wrong types, edge numbers, huge ids, deep or empty structures. */
const AWKWARD_VALUES: readonly unknown[] = [
  null,
  true,
  false,
  0,
  -1,
  1,
  0.5,
  -0,
  1e308,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  100_000_000,
  Number.MAX_SAFE_INTEGER,
  '',
  'x',
  'A',
  'B',
  '<s>',
  '(',
  '[',
  '\\',
  '\u0000',
  '\uD800',
  'Sequence',
  'BPE',
  'Unigram',
  'WordPiece',
  'WordLevel',
  'ByteLevel',
  'TemplateProcessing',
  'RobertaProcessing',
  'BertProcessing',
  'Split',
  'Metaspace',
  'Replace',
  [],
  [[]],
  ['x', 1],
  ['a', 'b'],
  {},
  { type: 'Sequence' },
  { Regex: '(' },
  { String: '' },
  { id: 'A', type_id: 0 },
];

type Json = unknown;

/** Every container in `root` with the key (or index) under which a child lives, as `[container, key]` pairs. */
function slots(root: Json, limit: number): [Record<string, Json> | Json[], string | number][] {
  const found: [Record<string, Json> | Json[], string | number][] = [];
  const stack: Json[] = [root];
  while (stack.length > 0 && found.length < limit) {
    const node = stack.pop();
    if (Array.isArray(node)) {
      node.forEach((child, index) => {
        found.push([node, index]);
        stack.push(child);
      });
    } else if (typeof node === 'object' && node !== null) {
      for (const [key, child] of Object.entries(node)) {
        found.push([node as Record<string, Json>, key]);
        stack.push(child);
      }
    }
  }
  return found;
}

/**
 * A structure-aware mutation of a JSON document (parsed, changed, re-serialized): a value replaced by an awkward one
 * or by another part of the document (or of a donor), removed, duplicated, wrapped, or a number nudged. `limit`
 * bounds how many places are considered (large vocabularies are sampled from their first entries and the structure).
 */
export function mutateJson(document: Json, random: Random, donors: readonly Json[] = [], limit = 4096): Json {
  const root = structuredClone(document);
  const places = slots(root, limit);
  if (places.length === 0) return random.pick(AWKWARD_VALUES);
  const rounds = 1 + random.below(3);
  for (let round = 0; round < rounds; round++) {
    const [container, key] = random.pick(places);
    const current = (container as Record<string | number, Json>)[key];
    const choice = random.below(8);
    const set = (value: Json) => {
      (container as Record<string | number, Json>)[key] = value;
    };
    if (choice <= 2) set(random.pick(AWKWARD_VALUES));
    else if (choice === 3) {
      if (Array.isArray(container)) container.splice(key as number, 1);
      else delete container[key as string];
    } else if (choice === 4 && typeof current === 'number') {
      set(random.pick([current + 1, current - 1, current * 2, -current, current + 1_000_000]));
    } else if (choice === 5) {
      const donor = donors.length > 0 && random.next() < 0.3 ? random.pick(donors) : root;
      const source = slots(donor, 512);
      if (source.length > 0) {
        const [other, otherKey] = random.pick(source);
        set(structuredClone((other as Record<string | number, Json>)[otherKey]));
      }
    } else if (choice === 6) {
      set(random.next() < 0.5 ? [current] : { type: 'Sequence', decoders: [current], pretokenizers: [current] });
    } else if (Array.isArray(container)) {
      container.push(structuredClone(current));
    } else {
      container[`${String(key)}_${random.below(4)}`] = structuredClone(current);
    }
  }
  return root;
}

/** A few bytes of `text` flipped, cut or repeated (mostly invalid JSON: the parser's errors are under test too). */
export function mutateText(text: string, random: Random): string {
  const position = random.below(text.length + 1);
  switch (random.below(4)) {
    case 0:
      return text.slice(0, position);
    case 1:
      return text.slice(0, position) + String.fromCharCode(random.below(128)) + text.slice(position + 1);
    case 2:
      return (
        text.slice(0, position) + text.slice(position, position + random.below(64)).repeat(2) + text.slice(position)
      );
    default:
      return text.slice(0, position) + text.slice(position + 1 + random.below(16));
  }
}
