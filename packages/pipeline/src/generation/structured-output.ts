import { type SamplingParameters, StrataError } from '@strata/core';
import {
  checkJsonSchema,
  checkRegex,
  constraintOfResponseFormat,
  createGrammarMatcher,
  type GrammarMatcher,
  type GrammarTokenizer,
  type OutputConstraint,
  parseGbnf,
} from '@strata/structured';
import type { TokenChoice } from '../sampling/token-sampler.js';
import type { PipelineTokenizer } from '../text/tokenizer.js';
import type { GenerateOptions } from './types.js';

const EMPTY_INT = new Int32Array(0);
const EMPTY_FLOAT = new Float32Array(0);

/**
 * The output constraint of a generation's options (`responseFormat`, `grammar`, `regex` or `constraint`; at most one),
 * checked now so that a bad grammar or schema fails before anything is queued: `INVALID_GRAMMAR` with its line and
 * column, `UNSUPPORTED_SCHEMA` naming the keyword, `INVALID_ARGUMENT` when several are given. Undefined when none is.
 */
export function outputConstraintOf(options: GenerateOptions): OutputConstraint | undefined {
  const given: OutputConstraint[] = [];
  if (options.responseFormat !== undefined) {
    const constraint = constraintOfResponseFormat(options.responseFormat);
    if (constraint !== undefined) given.push(constraint);
  }
  if (options.grammar !== undefined) given.push({ kind: 'grammar', grammar: options.grammar });
  if (options.regex !== undefined) given.push({ kind: 'regex', pattern: options.regex });
  if (options.constraint !== undefined) given.push(options.constraint);
  if (given.length > 1) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      'Give at most one of responseFormat (json_object / json_schema), grammar, regex and constraint.',
    );
  }
  const constraint = given[0];
  if (constraint?.kind === 'grammar') parseGbnf(constraint.grammar, constraint.rootRule);
  if (constraint?.kind === 'json-schema') checkJsonSchema(constraint.schema);
  if (constraint?.kind === 'regex') checkRegex(constraint.pattern);
  return constraint;
}

function grammarTokenizerOf(tokenizer: PipelineTokenizer): GrammarTokenizer {
  const candidate = tokenizer as Partial<GrammarTokenizer>;
  if (typeof candidate.tokenToBytes !== 'function' || typeof candidate.vocabularySize !== 'number') {
    throw new StrataError(
      'INVALID_ARGUMENT',
      'Constrained generation needs a tokenizer with tokenToBytes and vocabularySize (a @strata/loaders Tokenizer).',
    );
  }
  return candidate as GrammarTokenizer;
}

/**
 * A constraint applied to one generation: each step's {@link TokenChoice} gets the grammar's allowed-token bitmask (a
 * greedy choice becomes temperature-0 sampling, which honours the mask on the device), and each chosen token advances
 * the grammar. Stop tokens are allowed only where the grammar is complete.
 */
export class ConstrainedChoice {
  private constructor(private readonly matcher: GrammarMatcher) {}

  /** Compiles the constraint for the tokenizer's vocabulary, padded to the model's `logitsSize`. */
  static async open(
    tokenizer: PipelineTokenizer,
    constraint: OutputConstraint,
    logitsSize: number,
  ): Promise<ConstrainedChoice> {
    return new ConstrainedChoice(await createGrammarMatcher(grammarTokenizerOf(tokenizer), constraint, { logitsSize }));
  }

  /** The step's choice restricted to the tokens the grammar allows now. */
  async restrict(choice: TokenChoice): Promise<TokenChoice> {
    const allowedTokens = await this.matcher.nextTokenBitmask();
    const parameters: SamplingParameters =
      choice.kind === 'sample'
        ? { ...choice.parameters, allowedTokens }
        : {
            temperature: 0,
            topK: 0,
            topP: 1,
            minP: 0,
            random: 0,
            penaltyTokens: EMPTY_INT,
            penaltyCounts: EMPTY_INT,
            repetitionPenalty: 1,
            presencePenalty: 0,
            frequencyPenalty: 0,
            logitBiasTokens: EMPTY_INT,
            logitBiasValues: EMPTY_FLOAT,
            allowedTokens,
          };
    return { kind: 'sample', parameters };
  }

  /** Advances past the chosen token; a token outside the mask means the backend ignored it. */
  accept(token: number): void {
    if (!this.matcher.acceptToken(token)) {
      throw new StrataError(
        'INVALID_ARGUMENT',
        `The backend chose token ${token}, which the output grammar does not allow: its sampleToken ignores allowedTokens.`,
      );
    }
  }

  /** True once the grammar is complete and its stop token was chosen. */
  get complete(): boolean {
    return this.matcher.isTerminated();
  }

  /** Frees the grammar state. */
  dispose(): void {
    this.matcher.dispose();
  }
}
