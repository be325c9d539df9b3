import { fileURLToPath } from 'node:url';
import type { StrataError } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { TextPipeline } from '@strata/pipeline';
import { describe, expect, it } from 'vitest';
import type { ChatCompletionMessage } from './chat-completions.js';
import { fitConversation } from './context-window.js';

const LLAMA = fileURLToPath(new URL('../../../../shared/fixtures/models/llama', import.meta.url));

describe('fitConversation with the llama fixture’s chat template and tokenizer', () => {
  it('drops the oldest turns until the prompt and the reply fit; the system prompt and the newest message stay', async () => {
    const pipeline = await TextPipeline.load(LLAMA, { backend: createCpuBackend(), contextLength: 96 });
    const count = (messages: readonly ChatCompletionMessage[]) =>
      pipeline.tokenizer.encode(pipeline.renderChat(messages.map((message) => ({ ...message }))), {
        addSpecial: false,
        parseSpecial: true,
      }).length;
    const messages: ChatCompletionMessage[] = [{ role: 'system', content: 'Answer in rhymes.' }];
    for (let turn = 0; turn < 6; turn++) {
      messages.push({ role: 'user', content: `question number ${turn} about fibonacci` });
      messages.push({ role: 'assistant', content: `answer number ${turn} with some words` });
    }
    messages.push({ role: 'user', content: 'the last question' });
    expect(count(messages)).toBeGreaterThan(96);

    const fitted = fitConversation(messages, 16, pipeline.contextLength, count);
    expect(fitted.droppedMessages).toBeGreaterThan(0);
    expect(fitted.messages[0]).toEqual(messages[0]);
    expect(fitted.messages[1]?.role).toBe('user');
    expect(fitted.messages.at(-1)).toEqual(messages.at(-1));
    expect(fitted.messages.length).toBe(messages.length - fitted.droppedMessages);
    expect(fitted.promptTokens).toBe(count(fitted.messages));
    expect(fitted.promptTokens + 16).toBeLessThanOrEqual(96);
    // One turn more would not have fitted: no more was dropped than needed.
    const oneMore = messages.slice(0, 1).concat(messages.slice(1 + fitted.droppedMessages - 2));
    expect(count(oneMore) + 16).toBeGreaterThan(96);

    const long = [{ role: 'user' as const, content: 'word '.repeat(200) }];
    expect(() => fitConversation(long, 16, pipeline.contextLength, count)).toThrow(
      expect.objectContaining({ code: 'CONTEXT_OVERFLOW' }) as StrataError,
    );
    await pipeline.dispose();
  });
});
