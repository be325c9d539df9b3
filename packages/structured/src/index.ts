/** @packageDocumentation @strata/structured — see README.md. */
export type { GrammarNode, ParsedGrammar } from './grammar/grammar-ast.js';
export { parseGbnf } from './grammar/parse-gbnf.js';
export { printEbnf } from './grammar/print-ebnf.js';
export { checkRegex } from './grammar/check-regex.js';
export { checkJsonSchema } from './schema/check-json-schema.js';
export { constraintOfResponseFormat, type OutputConstraint, type ResponseFormat } from './matcher/constraint.js';
export {
  createGrammarMatcher,
  type GrammarMatcher,
  type GrammarMatcherOptions,
  isTokenAllowed,
} from './matcher/grammar-matcher.js';
export { encodeVocabulary, type GrammarTokenizer, vocabularyBytes } from './matcher/token-vocabulary.js';
export { advanceUtf8, type Utf8State } from './matcher/utf8-guard.js';
export type {
  ParsedAssistantMessage,
  ToolCall,
  ToolCallFormat,
  ToolChoice,
  ToolDefinition,
} from './tools/tool-call-types.js';
export { type ParseToolCallsOptions, parseToolCalls, randomCallId } from './tools/parse-tool-calls.js';
export { toolCallFormatOf } from './tools/syntaxes.js';
export { REASONING_MARKERS, type ReasoningSplit, splitReasoning } from './tools/reasoning.js';
export {
  type AssistantDelta,
  createToolCallStreamParser,
  type ToolCallDelta,
  type ToolCallStreamParser,
} from './tools/tool-call-stream-parser.js';
export { grammarForToolChoice } from './tools/tool-choice-grammar.js';
export { tightenJsonSchema } from './schema/tighten-json-schema.js';
