import { StrataError } from '@strata/core';

/** The part of a compiled XGrammar grammar strata uses (a WebAssembly object freed by `dispose`). */
export interface XGrammarCompiled {
  /** Frees the WebAssembly object. */
  dispose(): void;
}

/** The part of XGrammar's `GrammarMatcher` strata uses. */
export interface XGrammarMatcher {
  /** Allowed tokens as a bitmask (`ceil(vocabulary / 32)` words, bit set = allowed). */
  getNextTokenBitmask(): Promise<Int32Array>;
  /** Advances past a token; false when the grammar forbids it. */
  acceptToken(token: number): boolean;
  /** True after a stop token was accepted in a complete state. */
  isTerminated(): boolean;
  /** Back to the start of the grammar. */
  reset(): void;
  /** Frees the WebAssembly object. */
  dispose(): void;
}

/** The part of XGrammar's `GrammarCompiler` strata uses. */
export interface XGrammarCompiler {
  /** Compiles an EBNF grammar. */
  compileGrammar(grammar: string, rootRule?: string): Promise<XGrammarCompiled>;
  /** Compiles a JSON schema (whitespace, indent, separators, strict mode). */
  compileJSONSchema(
    schema: string,
    anyWhitespace?: boolean,
    indent?: number,
    separators?: [string, string],
    strictMode?: boolean,
  ): Promise<XGrammarCompiled>;
  /** Compiles XGrammar's grammar of any JSON value. */
  compileBuiltinJSONGrammar(): Promise<XGrammarCompiled>;
  /** Compiles a structural tag (tags, regex, JSON schema formats). */
  compileStructuralTag(structuralTag: unknown): Promise<XGrammarCompiled>;
  /** Frees the WebAssembly object. */
  dispose(): void;
}

/** The part of XGrammar's `TokenizerInfo` strata uses. */
export interface XGrammarTokenizerInfo {
  /** Number of logits covered. */
  getVocabSize(): number;
  /** Frees the WebAssembly object. */
  dispose(): void;
}

/** The classes of `@mlc-ai/web-xgrammar` strata uses. */
export interface XGrammarModule {
  /** Vocabulary preparation. */
  readonly TokenizerInfo: {
    createTokenizerInfo(
      encodedVocabulary: string[],
      vocabularyType?: string,
      prependSpace?: boolean,
      vocabularySize?: number,
      stopTokenIds?: number[],
    ): Promise<XGrammarTokenizerInfo>;
  };
  /** Grammar compilation for one vocabulary. */
  readonly GrammarCompiler: {
    createGrammarCompiler(info: XGrammarTokenizerInfo, cacheEnabled?: boolean): Promise<XGrammarCompiler>;
  };
  /** Per-sequence matching. */
  readonly GrammarMatcher: {
    createGrammarMatcher(
      compiled: XGrammarCompiled,
      overrideStopTokens?: number[],
      terminateWithoutStopToken?: boolean,
    ): Promise<XGrammarMatcher>;
  };
}

let loading: Promise<XGrammarModule> | undefined;

type GlobalWithShims = { xgrammar?: XGrammarModule; require?: unknown; __filename?: unknown };

async function importInNode(global: GlobalWithShims): Promise<void> {
  // The package is a UMD bundle published as `"type": "module"`: under Node's ESM loader its Emscripten glue reads the
  // CommonJS globals `require` and `__filename`. They are lent for the import and the module's first initialisation,
  // then removed again, so nothing leaks into the caller's global scope.
  const { createRequire } = await import('node:module');
  const require = createRequire(import.meta.url);
  const path = require.resolve('@mlc-ai/web-xgrammar');
  const { pathToFileURL } = await import('node:url');
  const hadRequire = 'require' in global;
  const hadFilename = '__filename' in global;
  if (!hadRequire) global.require = require;
  if (!hadFilename) global.__filename = path;
  try {
    await import(/* @vite-ignore */ pathToFileURL(path).href);
    const module = global.xgrammar;
    // The WebAssembly instance starts on first use; start it while the shims are present.
    if (module !== undefined) (await (module as unknown as XGrammarInitialiser).Grammar.builtinJSONGrammar()).dispose();
  } finally {
    if (!hadRequire) delete global.require;
    if (!hadFilename) delete global.__filename;
  }
}

interface XGrammarInitialiser {
  Grammar: { builtinJSONGrammar(): Promise<{ dispose(): void }> };
}

async function load(): Promise<XGrammarModule> {
  const global = globalThis as unknown as GlobalWithShims;
  let imported: unknown;
  if (global.xgrammar === undefined) {
    const isNode = typeof process === 'object' && typeof process.versions?.node === 'string';
    if (isNode) await importInNode(global);
    else imported = await import('@mlc-ai/web-xgrammar');
  }
  // Loaded as a script or as ESM the bundle registers `globalThis.xgrammar`; a bundler that wraps it as CommonJS gives
  // the classes as the module's exports instead.
  const candidates = [global.xgrammar, imported, (imported as { default?: unknown } | undefined)?.default];
  const module = candidates.find(
    (candidate): candidate is XGrammarModule =>
      typeof candidate === 'object' && candidate !== null && 'GrammarMatcher' in candidate,
  );
  if (module === undefined) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      '@mlc-ai/web-xgrammar loaded but did not register its classes; install the version @strata/structured declares.',
    );
  }
  return module;
}

/**
 * Loads XGrammar (WebAssembly) once per process or page. The module registers itself as `globalThis.xgrammar` (its
 * bundle is UMD); the promise is shared by every caller.
 */
export function loadXGrammar(): Promise<XGrammarModule> {
  loading ??= load().catch((error: unknown) => {
    loading = undefined;
    throw error;
  });
  return loading;
}
