/**
 * Mask time per token of @strata/structured (XGrammar) for a nested JSON schema, over the real vocabularies of
 * `../shared/fixtures/vocab` and a 152k-token vocabulary (falcon's 65k extended with merged tokens, the size of
 * Qwen's). Prints vocabulary preparation, grammar compilation, and per-token mask time (median, p90, max).
 * Run: pnpm --filter @strata/structured bench
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { tokenizerFromGguf } from '@strata/loaders';
import { openGgufFile } from '@strata/loaders/node';
import { createGrammarMatcher, type GrammarTokenizer } from '../src/index.js';

const fixtures = fileURLToPath(new URL('../../../../shared/fixtures/vocab/', import.meta.url));

const SCHEMA = {
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
const TEXT =
  '{"id": 48213, "name": "Ada Lovelace — analytical engine", "status": "active", "tags": ["math", "computing", "poetry"], ' +
  '"location": {"city": "London", "coordinates": [51.5072, -0.1276]}, "history": [{"year": 1843, "event": ' +
  '"Published the notes on the engine", "score": 9.5}, {"year": 1852, "event": "Died in Marylebone"}]}';

/** falcon's vocabulary extended to `size` tokens by merging pairs of its tokens (deterministic). */
function extended(base: GrammarTokenizer, size: number): GrammarTokenizer {
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

async function measure(name: string, tokenizer: GrammarTokenizer, ids: readonly number[]): Promise<void> {
  const prepareStart = performance.now();
  await createGrammarMatcher(tokenizer, { kind: 'grammar', grammar: 'root ::= "x"' }).then((matcher) =>
    matcher.dispose(),
  );
  const prepareMs = performance.now() - prepareStart;
  const compileStart = performance.now();
  const matcher = await createGrammarMatcher(tokenizer, { kind: 'json-schema', schema: SCHEMA });
  const compileMs = performance.now() - compileStart;
  const times: number[] = [];
  const done: number[] = [];
  for (const id of ids) {
    done.push(id);
    const start = performance.now();
    await matcher.nextTokenBitmask();
    times.push(performance.now() - start);
    if (!matcher.acceptToken(id))
      throw new Error(
        `${name}: the grammar rejected token ${id} after ${JSON.stringify((tokenizer as GrammarTokenizer).decode(done))}`,
      );
  }
  matcher.dispose();
  times.sort((a, b) => a - b);
  const at = (q: number) => times[Math.min(times.length - 1, Math.floor(q * times.length))]!.toFixed(3);
  console.log(
    `${name.padEnd(16)} ${String(tokenizer.vocabularySize).padStart(7)} tokens  prepare ${prepareMs.toFixed(0).padStart(5)} ms  compile ${compileMs.toFixed(0).padStart(4)} ms  mask/token over ${ids.length} tokens: median ${at(0.5)} ms  p90 ${at(0.9)} ms  max ${times.at(-1)!.toFixed(3)} ms`,
  );
}

console.log(`Nested JSON schema, ${TEXT.length} characters of output. Node ${process.version}.`);
let falcon: (GrammarTokenizer & { encode(text: string): number[] }) | undefined;
for (const file of readdirSync(fixtures).filter((name) => name.endsWith('.gguf'))) {
  const tokenizer = tokenizerFromGguf((await openGgufFile(`${fixtures}${file}`)).metadata);
  const name = file.slice('ggml-vocab-'.length, -'.gguf'.length);
  // SentencePiece adds a space before the first piece of a text; continuing after a newline avoids it, as mid-chat.
  let ids = tokenizer.encode(`\n${TEXT}`);
  while (ids.length > 0 && /^\s*$/.test(new TextDecoder().decode(tokenizer.tokenToBytes(ids[0]!)))) ids = ids.slice(1);
  const bytes = ids.flatMap((id) => [...tokenizer.tokenToBytes(id)]);
  if (new TextDecoder().decode(Uint8Array.from(bytes)) !== TEXT)
    throw new Error(`${name} does not round-trip the text`);
  await measure(name, tokenizer, ids);
  if (name === 'falcon') falcon = tokenizer;
}
if (falcon !== undefined) await measure('falcon+merged', extended(falcon, 152_064), falcon.encode(TEXT));
