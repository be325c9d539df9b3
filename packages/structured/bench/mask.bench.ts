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
import { extendedVocabulary, SCHEMA, TEXT } from './mask-inputs.js';

const fixtures = fileURLToPath(new URL('../../../../shared/fixtures/vocab/', import.meta.url));

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
if (falcon !== undefined) await measure('falcon+merged', extendedVocabulary(falcon, 152_064), falcon.encode(TEXT));
