import { StrataError } from '@strata/core';
import type { OpenAIErrorResponse } from './openai-types.js';

const SAMPLING_PARAMS: Readonly<Record<string, string>> = {
  temperature: 'temperature',
  topK: 'top_k',
  topP: 'top_p',
  minP: 'min_p',
  presencePenalty: 'presence_penalty',
  frequencyPenalty: 'frequency_penalty',
  seed: 'seed',
};

function samplingParam(option: unknown): string | null {
  if (typeof option !== 'string') return null;
  if (option.startsWith('logitBias')) return 'logit_bias';
  return SAMPLING_PARAMS[option] ?? option;
}

function response(status: number, message: string, type: string, param: string | null, code: string | null) {
  return { status, body: { error: { message, type, param, code } } };
}

/**
 * The OpenAI error object (and HTTP status) for a failure: a typed `StrataError` maps by its code (`MODEL_NOT_FOUND` →
 * 404, bad input → 400 naming the parameter, a full queue → 429, shutting down → 503); anything else is a 500 whose
 * message does not leak internals.
 */
export function toOpenAIError(error: unknown): OpenAIErrorResponse {
  if (!StrataError.isInstance(error)) {
    return response(500, 'The server failed while handling the request.', 'server_error', null, 'internal_error');
  }
  const param = typeof error.details.param === 'string' ? error.details.param : null;
  switch (error.code) {
    case 'MODEL_NOT_FOUND':
      return response(404, error.message, 'invalid_request_error', 'model', 'model_not_found');
    case 'CONTEXT_OVERFLOW':
      return response(400, error.message, 'invalid_request_error', param ?? 'messages', 'context_length_exceeded');
    case 'INVALID_SAMPLING_OPTIONS':
      return response(
        400,
        error.message,
        'invalid_request_error',
        samplingParam(error.details.option),
        'invalid_value',
      );
    case 'INVALID_ARGUMENT':
      if (error.details.queueFull === true) {
        return response(429, error.message, 'rate_limit_error', null, 'queue_full');
      }
      return response(400, error.message, 'invalid_request_error', param, 'invalid_value');
    case 'TOKEN_OUT_OF_RANGE':
      return response(400, error.message, 'invalid_request_error', param ?? 'prompt', 'invalid_value');
    case 'TEMPLATE_NOT_FOUND':
    case 'TEMPLATE_ERROR':
    case 'TOKENIZER_ERROR':
      return response(400, error.message, 'invalid_request_error', param ?? 'messages', 'invalid_value');
    case 'ABORTED':
      return response(503, error.message, 'server_error', null, 'unavailable');
    default:
      return response(500, error.message, 'server_error', null, error.code.toLowerCase());
  }
}
