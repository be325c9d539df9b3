/**
 * The XGrammar half of the mask benchmark in headless Chromium (playwright-core, `/usr/bin/chromium` or
 * CHROMIUM_PATH): falcon's real 65k vocabulary and the 152k extension, encoded by @strata/structured exactly as in
 * Node, the same nested schema and output. Chromium coarsens `performance.now()` to 0.1 ms, so each step's mask is taken 20 times and averaged.
 * Run: pnpm --filter @strata/structured bench:chromium
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { tokenizerFromGguf } from '@strata/loaders';
import { openGgufFile } from '@strata/loaders/node';
import { build } from 'esbuild';
import { chromium } from 'playwright-core';
import { encodeVocabulary, tightenJsonSchema, vocabularyBytes } from '../src/index.js';
import { extendedVocabulary, SCHEMA, TEXT } from './mask-inputs.js';

const fixtures = fileURLToPath(new URL('../../../../shared/fixtures/vocab/', import.meta.url));
const bundle = readFileSync(createRequire(import.meta.url).resolve('@mlc-ai/web-xgrammar'), 'utf8');
// @strata/structured itself, bundled for the browser (its Node-only loader branch never runs there).
const structured = await build({
  entryPoints: [fileURLToPath(new URL('./browser-entry.ts', import.meta.url))],
  bundle: true,
  format: 'esm',
  platform: 'browser',
  write: false,
  tsconfig: fileURLToPath(new URL('../../../tsconfig.json', import.meta.url)),
  // XGrammar's bundle names Node built-ins in its Node-only branch too.
  external: ['node:module', 'node:url', 'module', 'url', 'fs', 'path'],
  logLevel: 'error',
});
const structuredCode = structured.outputFiles[0]!.text;

const tokenizer = tokenizerFromGguf((await openGgufFile(`${fixtures}ggml-vocab-falcon.gguf`)).metadata);
const ids = tokenizer.encode(TEXT);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
  args: ['--no-sandbox'],
});
try {
  const page = await browser.newPage();
  // The bundle locates itself from its script URL, so it is served from an http origin rather than injected.
  await page.route('http://bench.local/**', (route) =>
    route.request().url().endsWith('.js')
      ? route.fulfill({ contentType: 'text/javascript', body: bundle })
      : route.fulfill({ contentType: 'text/html', body: '<script src="/xgrammar.js"></script>' }),
  );
  await page.goto('http://bench.local/');
  const wrapperPage = await browser.newPage();
  await wrapperPage.route('http://bench.local/**', (route) =>
    route.request().url().endsWith('/structured.js')
      ? route.fulfill({ contentType: 'text/javascript', body: structuredCode })
      : route.fulfill({ contentType: 'text/html', body: '<script type="module" src="/structured.js"></script>' }),
  );
  await wrapperPage.goto('http://bench.local/structured.html');
  // The wrapper's page loads XGrammar through the wrapper's own (bundled) import, not a script tag.
  await wrapperPage.waitForFunction(() => 'measureMasks' in globalThis);
  for (const [name, vocabulary] of [
    ['falcon', tokenizer],
    ['falcon+merged', extendedVocabulary(tokenizer, 152_064)],
  ] as const) {
    const pieces = encodeVocabulary(vocabularyBytes(vocabulary, vocabulary.vocabularySize));
    const result = await page.evaluate(
      async ({ pieces, ids, schema, stopTokens, repeats }) => {
        // biome-ignore lint/suspicious/noExplicitAny: the UMD bundle's global, typed in src/xgrammar/load-xgrammar.ts.
        const xgrammar = (globalThis as any).xgrammar;
        const prepareStart = performance.now();
        const info = await xgrammar.TokenizerInfo.createTokenizerInfo(
          pieces,
          'byte_level',
          false,
          pieces.length,
          stopTokens,
        );
        const compiler = await xgrammar.GrammarCompiler.createGrammarCompiler(info, true);
        const compileStart = performance.now();
        const compiled = await compiler.compileJSONSchema(schema, false, -1, [', ', ': '], true);
        const compileEnd = performance.now();
        const matcher = await xgrammar.GrammarMatcher.createGrammarMatcher(compiled, stopTokens, false);
        const times: number[] = [];
        for (const id of ids) {
          const start = performance.now();
          for (let repeat = 0; repeat < repeats; repeat++) await matcher.getNextTokenBitmask();
          times.push((performance.now() - start) / repeats);
          if (!matcher.acceptToken(id)) return { error: `rejected token ${id}` };
        }
        times.sort((a, b) => a - b);
        return {
          prepareMs: compileStart - prepareStart,
          compileMs: compileEnd - compileStart,
          median: times[times.length >> 1]!,
          p90: times[Math.floor(times.length * 0.9)]!,
          max: times[times.length - 1]!,
          steps: times.length,
          userAgent: navigator.userAgent,
        };
      },
      {
        pieces,
        ids,
        schema: JSON.stringify(tightenJsonSchema(SCHEMA)),
        stopTokens: [...tokenizer.endOfGenerationIds],
        repeats: 20,
      },
    );
    if ('error' in result) throw new Error(result.error);
    console.log(
      `Chromium (${result.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? 'unknown'}), ${name} ${pieces.length} tokens:`,
    );
    console.log(
      `  prepare ${result.prepareMs.toFixed(0)} ms  compile ${result.compileMs.toFixed(0)} ms  mask/token over ${result.steps} tokens: median ${result.median.toFixed(3)} ms  p90 ${result.p90.toFixed(3)} ms  max ${result.max.toFixed(3)} ms`,
    );
    const wrapped = await wrapperPage.evaluate(
      // biome-ignore lint/suspicious/noExplicitAny: set by browser-entry.ts.
      (input) => (globalThis as any).measureMasks(input),
      {
        tokenBytes: vocabularyBytes(vocabulary, vocabulary.vocabularySize).map((bytes) => [...bytes]),
        stopTokens: [...tokenizer.endOfGenerationIds],
        schema: SCHEMA,
        ids,
        repeats: 20,
      },
    );
    if ('error' in wrapped) throw new Error(wrapped.error);
    console.log(
      `  through createGrammarMatcher (UTF-8 guard included): mask/token median ${wrapped.median.toFixed(3)} ms  p90 ${wrapped.p90.toFixed(3)} ms  max ${wrapped.max.toFixed(3)} ms`,
    );
  }
} finally {
  await browser.close();
}
