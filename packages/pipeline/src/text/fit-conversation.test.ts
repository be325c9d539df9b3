import { StrataError } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { describe, expect, it } from 'vitest';
import { createByteTokenizer, createToyModel } from '../testing/toy-model.js';
import { TextPipeline } from '../text-pipeline.js';
import { dropOldestTurns, fitConversation } from './fit-conversation.js';
import type { ChatMessage } from './tokenizer.js';

const backend = createCpuBackend();
const tokenizer = createByteTokenizer();
/** A template whose rendering is easy to read back: `<role>content` per message, then `<a>`. */
const render = (messages: readonly ChatMessage[]) =>
  `${messages.map((message) => `<${message.role}>${message.content}`).join('')}<a>`;
const encode = (messages: readonly ChatMessage[]) => Array.from(new TextEncoder().encode(render(messages)));
const decode = (ids: readonly number[]) => new TextDecoder().decode(Uint8Array.from(ids));

const CONVERSATION: ChatMessage[] = [
  { role: 'system', content: 'be brief' },
  { role: 'user', content: 'first question' },
  { role: 'assistant', content: 'first answer' },
  { role: 'user', content: 'second question' },
  { role: 'assistant', content: 'second answer' },
  { role: 'user', content: 'third' },
];

async function chatPipeline(contextLength: number): Promise<TextPipeline> {
  const model = await createToyModel(backend);
  return TextPipeline.fromParts({
    model,
    backend,
    tokenizer,
    contextLength,
    chatTemplate: { render: ({ messages }) => render(messages) },
  });
}

function codeOf(work: () => unknown): string | undefined {
  try {
    work();
    return undefined;
  } catch (error) {
    return StrataError.isInstance(error) ? error.code : 'not a StrataError';
  }
}

describe('fitConversation', () => {
  it('keeps a conversation that fits as it is', () => {
    const ids = fitConversation(CONVERSATION, encode, {
      contextLength: 200,
      replyRoom: 20,
      policy: 'drop-oldest-turns',
    });
    expect(decode(ids)).toBe(render(CONVERSATION));
  });

  it('drops the oldest turns, keeping the system prompt and restarting on a user turn', () => {
    const ids = fitConversation(CONVERSATION, encode, {
      contextLength: 96,
      replyRoom: 16,
      policy: 'drop-oldest-turns',
    });
    expect(decode(ids)).toBe('<system>be brief<user>second question<assistant>second answer<user>third<a>');
    const tight = fitConversation(CONVERSATION, encode, {
      contextLength: 40,
      replyRoom: 8,
      policy: 'drop-oldest-turns',
    });
    expect(decode(tight)).toBe('<system>be brief<user>third<a>');
  });

  it('dropOldestTurns says which messages it kept and how many it left out', () => {
    const fitted = dropOldestTurns(CONVERSATION, encode, { contextLength: 96, replyRoom: 16 });
    expect(fitted.droppedMessages).toBe(2);
    expect(fitted.messages).toEqual([CONVERSATION[0], ...CONVERSATION.slice(3)]);
    expect(fitted.ids).toEqual(encode(fitted.messages));
    expect(fitted.ids).toEqual(
      fitConversation(CONVERSATION, encode, { contextLength: 96, replyRoom: 16, policy: 'drop-oldest-turns' }),
    );
    // One turn more would not have left the reply's room.
    expect(encode([CONVERSATION[0]!, ...CONVERSATION.slice(1)]).length + 16).toBeGreaterThan(96);
    expect(dropOldestTurns(CONVERSATION, encode, { contextLength: 200, replyRoom: 20 })).toEqual({
      messages: CONVERSATION,
      droppedMessages: 0,
      ids: encode(CONVERSATION),
    });
  });

  it('shifts like llama.cpp: the first `keep` tokens, then the newest that fit', () => {
    const ids = fitConversation(CONVERSATION, encode, {
      contextLength: 64,
      replyRoom: 16,
      policy: { strategy: 'shift', keep: 16 },
    });
    const full = render(CONVERSATION);
    expect(ids).toHaveLength(48);
    expect(decode(ids)).toBe(full.slice(0, 16) + full.slice(full.length - 32));
  });

  it('only a last message that cannot fit alone is an error (and the error policy errs on overflow)', () => {
    const long: ChatMessage[] = [...CONVERSATION, { role: 'user', content: 'x'.repeat(100) }];
    for (const policy of ['drop-oldest-turns', { strategy: 'shift', keep: 4 }] as const) {
      expect(codeOf(() => fitConversation(long, encode, { contextLength: 64, replyRoom: 8, policy }))).toBe(
        'CONTEXT_OVERFLOW',
      );
    }
    expect(
      codeOf(() => fitConversation(CONVERSATION, encode, { contextLength: 64, replyRoom: 8, policy: 'error' })),
    ).toBe('CONTEXT_OVERFLOW');
  });
});

describe('TextPipeline.chat when the context fills', () => {
  it('keeps going turn after turn in a small context, reusing the kept system prompt', async () => {
    const pipeline = await chatPipeline(64);
    const messages: ChatMessage[] = [{ role: 'system', content: 'sys' }];
    for (let turn = 0; turn < 6; turn++) {
      messages.push({ role: 'user', content: `question number ${turn}` });
      const result = await pipeline.chat(messages, { maxTokens: 8, ignoreEndOfGeneration: true }).result;
      expect(result.tokens.length).toBeGreaterThan(0);
      messages.push({ role: 'assistant', content: `answer ${turn}` });
      expect(decode(pipeline.cachedTokens).startsWith('<system>sys<user>')).toBe(true);
    }
    // The last prompt held the system prompt and the newest question, not the first one.
    expect(decode(pipeline.cachedTokens)).toContain('question number 5');
    expect(decode(pipeline.cachedTokens)).not.toContain('question number 0');
  });

  it('contextOverflow: error throws CONTEXT_OVERFLOW, a message longer than the context always does, bad values are rejected', async () => {
    const pipeline = await chatPipeline(64);
    const long = [...CONVERSATION, { role: 'user', content: 'y'.repeat(60) }];
    expect(codeOf(() => pipeline.chat(long))).toBe('CONTEXT_OVERFLOW');
    expect(codeOf(() => pipeline.chat(CONVERSATION.concat(CONVERSATION), { contextOverflow: 'error' }))).toBe(
      'CONTEXT_OVERFLOW',
    );
    expect(codeOf(() => pipeline.chat(CONVERSATION, { contextOverflow: 'truncate' as never }))).toBe(
      'INVALID_ARGUMENT',
    );
    expect(codeOf(() => pipeline.chat(CONVERSATION, { contextOverflow: { strategy: 'shift', keep: 64 } }))).toBe(
      'INVALID_ARGUMENT',
    );
    const shifted = pipeline.chat(CONVERSATION.concat(CONVERSATION), {
      maxTokens: 4,
      ignoreEndOfGeneration: true,
      contextOverflow: { strategy: 'shift', keep: 10 },
    });
    expect((await shifted.result).tokens).toHaveLength(4);
    expect(decode(pipeline.cachedTokens).slice(0, 10)).toBe(render(CONVERSATION).slice(0, 10));
  });
});
