import { StrataError } from '@strata/core';
import type { ChatMessage } from './tokenizer.js';

/**
 * What `chat` does when the conversation (plus room for the reply) does not fit the context.
 * - `'drop-oldest-turns'` (default): drop the oldest messages after the system prompt until it fits; the system
 *   messages and the last message always stay.
 * - `{ strategy: 'shift', keep }`: llama.cpp's context shift: keep the first `keep` tokens of the rendered prompt (its
 *   `--keep`), drop the oldest tokens after them until it fits (it may cut a turn in half); a reply that fills the
 *   context shifts it again and goes on (`GenerateOptions.contextShift`).
 * - `'error'`: throw `CONTEXT_OVERFLOW`.
 *
 * Whatever the policy, a last message that does not fit the context even alone (with the system prompt, or the kept
 * tokens) is a `CONTEXT_OVERFLOW` error.
 */
export type ContextOverflow = 'drop-oldest-turns' | 'error' | { readonly strategy: 'shift'; readonly keep: number };

/** What {@link fitConversation} needs. */
export interface ConversationBudget {
  /** Tokens the context holds. */
  readonly contextLength: number;
  /** Tokens to leave free for the reply (fewer are accepted when even the shortest prompt leaves fewer). */
  readonly replyRoom: number;
  /** What to do on overflow. */
  readonly policy: ContextOverflow;
}

/** Checks a {@link ContextOverflow} value; throws `INVALID_ARGUMENT` naming what is wrong. */
export function checkContextOverflow(policy: unknown, contextLength: number): ContextOverflow {
  if (policy === undefined) return 'drop-oldest-turns';
  if (policy === 'drop-oldest-turns' || policy === 'error') return policy;
  if (typeof policy === 'object' && policy !== null && (policy as { strategy?: unknown }).strategy === 'shift') {
    const keep = (policy as { keep?: unknown }).keep;
    if (typeof keep === 'number' && Number.isInteger(keep) && keep >= 0 && keep <= contextLength - 2) {
      return { strategy: 'shift', keep };
    }
    throw new StrataError(
      'INVALID_ARGUMENT',
      `contextOverflow shift keeps ${String(keep)} tokens; keep must be an integer in [0, ${contextLength - 2}].`,
      { details: { keep: String(keep), contextLength } },
    );
  }
  throw new StrataError(
    'INVALID_ARGUMENT',
    `contextOverflow is ${JSON.stringify(policy)}; use 'drop-oldest-turns', 'error' or { strategy: 'shift', keep }.`,
  );
}

function overflow(promptTokens: number, contextLength: number, what: string): StrataError {
  return new StrataError(
    'CONTEXT_OVERFLOW',
    `${what} has ${promptTokens} tokens but the context holds ${contextLength}; load the pipeline with a larger contextLength or send a shorter message.`,
    { details: { promptTokens, contextLength } },
  );
}

/**
 * The prompt ids of a conversation that fit the context with room for the reply, following `budget.policy`. `encode`
 * renders and tokenizes a list of messages (with the assistant's turn header). Throws `CONTEXT_OVERFLOW` when nothing
 * the policy allows fits.
 */
export function fitConversation(
  messages: readonly ChatMessage[],
  encode: (messages: readonly ChatMessage[]) => number[],
  budget: ConversationBudget,
): number[] {
  const { contextLength, replyRoom, policy } = budget;
  const target = Math.max(1, contextLength - replyRoom);
  const full = encode(messages);
  if (full.length <= target) return full;
  if (policy === 'error') {
    if (full.length < contextLength) return full;
    throw overflow(full.length, contextLength, 'The conversation');
  }
  if (typeof policy === 'object') {
    const keep = Math.min(policy.keep, full.length);
    const last = encode(messages.slice(-1));
    if (keep + last.length >= contextLength) throw overflow(keep + last.length, contextLength, 'The last message');
    const tail = Math.max(target - keep, last.length);
    if (keep + tail >= full.length) return full;
    return [...full.slice(0, keep), ...full.slice(full.length - tail)];
  }
  return dropOldestTurns(messages, encode, budget, full).ids;
}

/** A conversation whose oldest turns were left out to fit the context. */
export interface FittedConversation {
  /** The messages kept: the leading system messages, then the newest turns. */
  readonly messages: readonly ChatMessage[];
  /** How many messages after the leading system messages were left out. */
  readonly droppedMessages: number;
  /** The prompt ids of `messages`. */
  readonly ids: number[];
}

/**
 * The `'drop-oldest-turns'` policy of {@link fitConversation}, saying what it dropped: the oldest turns after the
 * leading system messages are left out (the kept part restarts on a user turn; the last message always stays) until
 * the prompt leaves `budget.replyRoom` tokens free; when even the last message leaves fewer, the shortest prompt is
 * kept if one token still fits, else `CONTEXT_OVERFLOW`. `full` is `encode(messages)` when the caller has it.
 */
export function dropOldestTurns(
  messages: readonly ChatMessage[],
  encode: (messages: readonly ChatMessage[]) => number[],
  budget: Pick<ConversationBudget, 'contextLength' | 'replyRoom'>,
  full: number[] = encode(messages),
): FittedConversation {
  const { contextLength, replyRoom } = budget;
  const target = Math.max(1, contextLength - replyRoom);
  if (full.length <= target) return { messages, droppedMessages: 0, ids: full };
  let system = 0;
  while (system < messages.length - 1 && messages[system]!.role === 'system') system++;
  const head = messages.slice(0, system);
  let shortest: FittedConversation = { messages, droppedMessages: 0, ids: full };
  for (let first = system + 1; first < messages.length; first++) {
    // A conversation restarts on a user turn (templates may require user/assistant alternation).
    if (first < messages.length - 1 && messages[first]!.role !== 'user') continue;
    const kept = [...head, ...messages.slice(first)];
    shortest = { messages: kept, droppedMessages: first - system, ids: encode(kept) };
    if (shortest.ids.length <= target) return shortest;
  }
  if (shortest.ids.length < contextLength) return shortest;
  throw overflow(
    shortest.ids.length,
    contextLength,
    system > 0 ? 'The last message with the system prompt' : 'The last message',
  );
}
