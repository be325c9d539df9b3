import { StrataError } from '@strata/core';
import type { ChatCompletionMessage } from './chat-completions.js';

/** A conversation cut to fit the context, and what was cut. */
export interface FittedConversation {
  /** The messages to render: the system messages, then the newest turns that fit. */
  readonly messages: readonly ChatCompletionMessage[];
  /** How many of the oldest non-system messages were left out. */
  readonly droppedMessages: number;
  /** Prompt tokens of `messages`. */
  readonly promptTokens: number;
  /** The tokens that may still be generated (the request's maximum, or less where the context ends sooner). */
  readonly maxTokens: number;
}

/**
 * Drops the oldest turns (a user message and the replies after it) until the prompt and `maxTokens` fit in
 * `contextLength`; the system messages always stay, and so does the newest message. When even that leaves no room for one
 * generated token, `CONTEXT_OVERFLOW` says how long the message is. `countTokens` renders and tokenizes messages as the
 * model will see them.
 */
export function fitConversation(
  messages: readonly ChatCompletionMessage[],
  maxTokens: number,
  contextLength: number,
  countTokens: (messages: readonly ChatCompletionMessage[]) => number,
): FittedConversation {
  const system = messages.filter((message) => message.role === 'system');
  let turns = messages.filter((message) => message.role !== 'system');
  let promptTokens = countTokens([...system, ...turns]);
  while (promptTokens + maxTokens > contextLength && turns.length > 1) {
    let cut = 1;
    while (cut < turns.length - 1 && turns[cut]?.role !== 'user') cut += 1;
    turns = turns.slice(cut);
    promptTokens = countTokens([...system, ...turns]);
  }
  if (promptTokens >= contextLength) {
    throw new StrataError(
      'CONTEXT_OVERFLOW',
      `The message and system prompt take ${promptTokens} tokens but the context holds ${contextLength}: shorten them or load the model with a longer context.`,
      { details: { promptTokens, contextLength } },
    );
  }
  return {
    messages: [...system, ...turns],
    droppedMessages: messages.length - system.length - turns.length,
    promptTokens,
    maxTokens: Math.min(maxTokens, contextLength - promptTokens),
  };
}
