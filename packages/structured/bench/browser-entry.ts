/** Browser entry of the Chromium benchmark: @strata/structured's own matcher, bundled by esbuild for the page. */
import { createGrammarMatcher, type GrammarTokenizer } from '../src/index.js';

/** Measures `createGrammarMatcher` masks in the page over a vocabulary given as token bytes. */
async function measureMasks(input: {
  tokenBytes: number[][];
  stopTokens: number[];
  schema: unknown;
  ids: number[];
  repeats: number;
}): Promise<{ median: number; p90: number; max: number; steps: number } | { error: string }> {
  const decoder = new TextDecoder();
  const bytes = input.tokenBytes.map((token) => Uint8Array.from(token));
  const tokenizer: GrammarTokenizer = {
    vocabularySize: bytes.length,
    endOfGenerationIds: new Set(input.stopTokens),
    tokenToBytes: (id) => bytes[id]!,
    // Control tokens (the stop tokens here) vanish when special tokens are skipped.
    decode: (ids, options) =>
      ids
        .map((id) => (options?.skipSpecial === true && input.stopTokens.includes(id) ? '' : decoder.decode(bytes[id])))
        .join(''),
  };
  const matcher = await createGrammarMatcher(tokenizer, { kind: 'json-schema', schema: input.schema });
  const times: number[] = [];
  for (const id of input.ids) {
    const start = performance.now();
    for (let repeat = 0; repeat < input.repeats; repeat++) await matcher.nextTokenBitmask();
    times.push((performance.now() - start) / input.repeats);
    if (!matcher.acceptToken(id)) return { error: `rejected token ${id}` };
  }
  matcher.dispose();
  times.sort((a, b) => a - b);
  return {
    median: times[times.length >> 1]!,
    p90: times[Math.floor(times.length * 0.9)]!,
    max: times.at(-1)!,
    steps: times.length,
  };
}

(globalThis as { measureMasks?: typeof measureMasks }).measureMasks = measureMasks;
