import { StrataError } from '@strata/core';
import { parseGbnf } from '../grammar/parse-gbnf.js';
import { printEbnf } from '../grammar/print-ebnf.js';
import { checkRegex } from '../grammar/check-regex.js';
import { checkJsonSchema } from '../schema/check-json-schema.js';
import { tightenJsonSchema } from '../schema/tighten-json-schema.js';
import type { XGrammarCompiled, XGrammarMatcher } from '../xgrammar/load-xgrammar.js';
import type { OutputConstraint } from './constraint.js';
import { type GrammarTokenizer, type PreparedVocabulary, prepareVocabulary } from './token-vocabulary.js';
import { advanceUtf8Bytes, guardMask } from './utf8-guard.js';

/**
 * The per-sequence state of a grammar: which tokens may come next, and the tokens chosen so far. Stop tokens are
 * allowed only where the grammar is complete.
 */
export interface GrammarMatcher {
  /** Number of logits the masks cover. */
  readonly logitsSize: number;
  /**
   * The tokens allowed next as a bitmask: bit `id % 32` of word `id / 32` is set when token `id` is allowed
   * (`ceil(logitsSize / 32)` words).
   */
  nextTokenBitmask(): Promise<Uint32Array>;
  /** Advances past a chosen token; false (state unchanged) when the grammar does not allow it. */
  acceptToken(token: number): boolean;
  /** True once the grammar is complete and a stop token was accepted: nothing may follow. */
  isTerminated(): boolean;
  /** Frees the matcher's WebAssembly state (also freed on garbage collection). Idempotent. */
  dispose(): void;
}

/** Options of {@link createGrammarMatcher}. */
export interface GrammarMatcherOptions {
  /** Number of logits when the model pads the vocabulary beyond the tokenizer's (default: the tokenizer's size). */
  readonly logitsSize?: number;
}

const matchers = new FinalizationRegistry<XGrammarMatcher>((matcher) => matcher.dispose());

async function compile(vocabulary: PreparedVocabulary, constraint: OutputConstraint): Promise<XGrammarCompiled> {
  const { compiler } = vocabulary;
  switch (constraint.kind) {
    case 'grammar':
      return compiler.compileGrammar(
        printEbnf(parseGbnf(constraint.grammar, constraint.rootRule)),
        constraint.rootRule ?? 'root',
      );
    case 'json-object':
      return compiler.compileGrammar(JSON_OBJECT_GRAMMAR);
    case 'json-schema': {
      checkJsonSchema(constraint.schema);
      const schema = JSON.stringify(tightenJsonSchema(constraint.schema === true ? {} : constraint.schema));
      // Compact one-line JSON with ", " and ": " separators (no unbounded whitespace a model could loop in).
      return compiler.compileJSONSchema(schema, false, -1, [', ', ': '], true);
    }
    case 'regex':
      return compiler.compileStructuralTag({
        type: 'structural_tag',
        format: { type: 'regex', pattern: checkRegex(constraint.pattern) },
      });
    case 'structural-tag':
      return compiler.compileStructuralTag(constraint.structuralTag);
  }
}

/** Any JSON object, compact separators allowed with optional single spaces. */
const JSON_OBJECT_GRAMMAR = String.raw`root ::= object
value ::= object | array | string | number | "true" | "false" | "null"
object ::= "{" ws ( string ws ":" ws value ws ( "," ws string ws ":" ws value ws )* )? "}"
array ::= "[" ws ( value ws ( "," ws value ws )* )? "]"
string ::= "\"" ( [^"\\\u0000-\u001f] | "\\" ( ["\\/bfnrt] | "u" [0-9a-fA-F]{4} ) )* "\""
number ::= "-"? ( "0" | [1-9] [0-9]{0,15} ) ( "." [0-9]{1,16} )? ( [eE] [-+]? [0-9]{1,3} )?
ws ::= " "?`;

/**
 * Compiles a constraint for a tokenizer's vocabulary and returns a fresh matcher at the start of the output. The
 * constraint is checked first: an invalid GBNF grammar or regular expression throws `INVALID_GRAMMAR` with its line and
 * column, a JSON schema with an unsupported keyword `UNSUPPORTED_SCHEMA` naming it. The vocabulary is prepared once per
 * tokenizer (XGrammar, WebAssembly) and compiled grammars are cached by XGrammar.
 */
export async function createGrammarMatcher(
  tokenizer: GrammarTokenizer,
  constraint: OutputConstraint,
  options: GrammarMatcherOptions = {},
): Promise<GrammarMatcher> {
  const logitsSize = options.logitsSize ?? tokenizer.vocabularySize;
  if (!Number.isInteger(logitsSize) || logitsSize < tokenizer.vocabularySize) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `logitsSize ${logitsSize} is below the vocabulary size ${tokenizer.vocabularySize}.`,
    );
  }
  if (constraint.kind === 'grammar') parseGbnf(constraint.grammar, constraint.rootRule);
  if (constraint.kind === 'json-schema') checkJsonSchema(constraint.schema);
  if (constraint.kind === 'regex') checkRegex(constraint.pattern);
  const vocabulary = await prepareVocabulary(tokenizer, logitsSize);
  const compiled = await compile(vocabulary, constraint);
  try {
    const matcher = await vocabulary.module.GrammarMatcher.createGrammarMatcher(
      compiled,
      [...vocabulary.stopTokens],
      false,
    );
    return wrap(matcher, vocabulary);
  } finally {
    compiled.dispose();
  }
}

function wrap(matcher: XGrammarMatcher, vocabulary: PreparedVocabulary): GrammarMatcher {
  const { logitsSize, utf8, stopTokens } = vocabulary;
  let disposed = false;
  // The incomplete UTF-8 character at the end of the output (0 at a boundary).
  let utf8State = 0;
  const live = () => {
    if (disposed) throw new StrataError('INVALID_ARGUMENT', 'The grammar matcher was disposed.');
  };
  const handle: GrammarMatcher = {
    logitsSize,
    async nextTokenBitmask() {
      live();
      const raw = await matcher.getNextTokenBitmask();
      const mask = new Uint32Array(raw.buffer, raw.byteOffset, Math.ceil(logitsSize / 32));
      guardMask(mask, utf8, utf8State, stopTokens);
      return mask;
    },
    acceptToken(token) {
      live();
      if (!Number.isInteger(token) || token < 0 || token >= logitsSize) return false;
      const next = advanceUtf8Bytes(utf8State, utf8.tokenBytes[token]!);
      if (next < 0 || (next !== 0 && utf8.tokenBytes[token]!.length === 0)) return false;
      if (utf8State !== 0 && stopTokens.includes(token)) return false;
      if (!matcher.acceptToken(token)) return false;
      utf8State = next;
      return true;
    },
    isTerminated: () => !disposed && matcher.isTerminated(),
    dispose() {
      if (disposed) return;
      disposed = true;
      matchers.unregister(handle);
      matcher.dispose();
    },
  };
  matchers.register(handle, matcher, handle);
  return handle;
}

/** True when token `id` is allowed by a bitmask from {@link GrammarMatcher.nextTokenBitmask}. */
export function isTokenAllowed(bitmask: Uint32Array, id: number): boolean {
  return (((bitmask[id >>> 5] ?? 0) >>> (id & 31)) & 1) === 1;
}
