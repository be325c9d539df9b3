/**
 * The worker's side of the OpenAI-shaped API: requests from `OpenAIWorkerClient` go to the loaded model's
 * `OpenAICompatibleApi` unchanged, and its chunks, responses and errors (OpenAI's error objects) go back.
 */
import { StrataError } from '@strata/core';
import { type OpenAICompatibleApi, type OpenAIErrorResponse, toOpenAIError } from '@strata/pipeline';
import type { ApiEvent, ApiRequest } from './protocol.js';

/**
 * OpenAI's error object for `error`. A server hides the message of an unexpected failure; here nothing leaves the
 * user's tab, so it is kept (a lost GPU device says so).
 */
export function openAIErrorOf(error: unknown): OpenAIErrorResponse {
  const response = toOpenAIError(error);
  if (StrataError.isInstance(error) || !(error instanceof Error)) return response;
  return { ...response, body: { error: { ...response.body.error, message: error.message } } };
}

function isStream(value: object): value is AsyncIterable<unknown> {
  return Symbol.asyncIterator in value;
}

/** Serves API requests with the API that `current` returns (undefined: no model is loaded), answering with `post`. */
export function hostOpenAIApi(
  current: () => OpenAICompatibleApi | undefined,
  post: (event: ApiEvent) => void,
): (message: ApiRequest) => void {
  const running = new Map<number, AbortController>();
  const serve = async (message: Extract<ApiRequest, { type: 'api' }>, signal: AbortSignal): Promise<void> => {
    const api = current();
    if (api === undefined) {
      throw new StrataError('MODEL_NOT_FOUND', 'No model is loaded yet: load one by URL, pick a file or drop one.', {
        details: { param: 'model' },
      });
    }
    const answer =
      message.endpoint === 'chat.completions'
        ? await api.chat.completions.create(message.request, { signal })
        : await api.completions.create(message.request, { signal });
    if (!isStream(answer)) {
      post({ type: 'api-response', id: message.id, response: answer });
      return;
    }
    post({ type: 'api-stream', id: message.id });
    for await (const chunk of answer) post({ type: 'api-chunk', id: message.id, chunk });
    post({ type: 'api-end', id: message.id });
  };
  return (message) => {
    if (message.type === 'api-abort') {
      running.get(message.id)?.abort();
      return;
    }
    const controller = new AbortController();
    running.set(message.id, controller);
    serve(message, controller.signal)
      .catch((error: unknown) => post({ type: 'api-error', id: message.id, error: openAIErrorOf(error) }))
      .finally(() => running.delete(message.id));
  };
}
