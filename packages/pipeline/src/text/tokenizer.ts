import type { ChatTemplate, Tokenizer } from '@strata/loaders';

/**
 * What the pipeline needs of a tokenizer: a `@strata/loaders` {@link Tokenizer} (from `tokenizerFromGguf` or
 * `tokenizerFromJson`) has it; tests may pass any object that does. Structured output (`grammar`, `responseFormat`, …)
 * also needs `tokenToBytes` and `vocabularySize`.
 */
export type PipelineTokenizer = Pick<Tokenizer, 'encode' | 'decode' | 'endOfGenerationIds' | 'createStreamDecoder'> &
  Partial<Pick<Tokenizer, 'tokenToBytes' | 'vocabularySize'>>;

/**
 * What the pipeline needs of a chat template: a `@strata/loaders` {@link ChatTemplate} has it. Its `source`, when
 * given, tells the OpenAI-shaped API which tool-call format the model writes.
 */
export type PipelineChatTemplate = Pick<ChatTemplate, 'render'> & Partial<Pick<ChatTemplate, 'source'>>;

export type { ChatMessage } from '@strata/loaders';
