import { StrataError } from '@strata/core';
import type { ChatMessage, FinishReason, TextPipeline } from '@strata/pipeline';
import type { ChatCompletionChunk, ChatCompletionRequest, ChatFinishReason } from './chat-completions.js';
import { fitConversation } from './context-window.js';

function finishReasonOf(reason: FinishReason): ChatFinishReason {
  if (reason === 'aborted') return 'aborted';
  return reason === 'max-tokens' || reason === 'context-full' ? 'length' : 'stop';
}

/**
 * Answers one chat-completions request with `pipeline`, as OpenAI streams it: the oldest turns are left out when the
 * conversation does not fit the context (unless `truncation: 'error'`), then each token's text is one chunk, and the
 * last chunk carries the finish reason and the usage.
 */
export async function streamChatCompletion(
  pipeline: TextPipeline,
  model: string,
  request: ChatCompletionRequest,
  signal: AbortSignal,
  emit: (chunk: ChatCompletionChunk) => void,
): Promise<void> {
  const plain = (messages: ChatCompletionRequest['messages']): ChatMessage[] =>
    messages.map(({ role, content }) => ({ role, content }));
  const countTokens = (messages: ChatCompletionRequest['messages']) =>
    pipeline.tokenizer.encode(pipeline.renderChat(plain(messages)), { addSpecial: false, parseSpecial: true }).length;
  const fitted = fitConversation(request.messages, request.max_tokens, pipeline.contextLength, countTokens);
  if (fitted.droppedMessages > 0 && request.truncation === 'error') {
    throw new StrataError(
      'CONTEXT_OVERFLOW',
      `The conversation needs ${fitted.droppedMessages} messages fewer to fit the context of ${pipeline.contextLength} tokens.`,
    );
  }
  const id = `chatcmpl-${crypto.randomUUID()}`;
  const created = Math.floor(Date.now() / 1000);
  const chunk = (
    delta: ChatCompletionChunk['choices'][0]['delta'],
    finish: ChatFinishReason | null,
    extra: Partial<Pick<ChatCompletionChunk, 'usage' | 'strata'>> = {},
  ): ChatCompletionChunk => ({
    id,
    object: 'chat.completion.chunk',
    created,
    model,
    choices: [{ index: 0, delta, finish_reason: finish }],
    ...extra,
  });
  emit(chunk({ role: 'assistant' }, null, { strata: { droppedMessages: fitted.droppedMessages } }));
  const generation = pipeline.chat(plain(fitted.messages), {
    maxTokens: fitted.maxTokens,
    temperature: request.temperature,
    topP: request.top_p,
    ...(request.top_k === undefined ? {} : { topK: request.top_k }),
    ...(request.seed === undefined ? {} : { seed: request.seed }),
    signal,
  });
  for await (const delta of generation) {
    emit(chunk({ content: delta.text }, null, delta.token === undefined ? {} : { strata: { token: delta.token } }));
  }
  const result = await generation.result;
  emit(
    chunk({}, finishReasonOf(result.finishReason), {
      usage: {
        prompt_tokens: result.stats.promptTokens,
        completion_tokens: result.stats.generatedTokens,
        total_tokens: result.stats.promptTokens + result.stats.generatedTokens,
      },
      strata: { tokens: [...result.tokens], stats: result.stats },
    }),
  );
}
