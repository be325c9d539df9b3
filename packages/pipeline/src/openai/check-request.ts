import { StrataError } from '@strata/core';
import type { ToolChoice, ToolDefinition } from '@strata/structured';
import type { GenerateOptions } from '../generation/types.js';
import { checkTools, checkToolChoice } from './tool-calling.js';
import type { ChatMessage } from '../text/tokenizer.js';

/** A request checked at the API boundary, in the scheduler's terms. */
export interface CheckedRequest {
  /** The model name. */
  readonly model: string;
  /** Choices to generate. */
  readonly n: number;
  /** Whether to stream chunks. */
  readonly stream: boolean;
  /** Whether a streamed response ends with a usage chunk. */
  readonly includeUsage: boolean;
  /** −1: no log-probabilities; otherwise how many alternatives per position (0: the chosen token only). */
  readonly topLogprobs: number;
  /** Whether each choice's token ids come back (`return_tokens`). */
  readonly returnTokens: boolean;
  /** Generation options of choice 0 (choice i adds i to the seed). */
  readonly options: GenerateOptions;
}

/** A checked chat request. */
export interface CheckedChatRequest extends CheckedRequest {
  /** The conversation, in the chat template's terms. */
  readonly messages: readonly ChatMessage[];
  /** The function tools, when the request has any. */
  readonly tools?: readonly ToolDefinition[];
  /** `none` when there are no tools. */
  readonly toolChoice: ToolChoice;
  /** Whether the oldest turns are left out when the conversation does not fit (`truncation: 'auto'`). */
  readonly truncation: boolean;
}

/** A checked completions request. */
export interface CheckedCompletionRequest extends CheckedRequest {
  /** Text (tokenized with special tokens) or token ids. */
  readonly prompt: string | readonly number[];
  /** Prepend the prompt to the text. */
  readonly echo: boolean;
}

function invalid(param: string, message: string): StrataError {
  return new StrataError('INVALID_ARGUMENT', message, { details: { param } });
}

type Body = Record<string, unknown>;

function optionalNumber(body: Body, param: string, low: number, high: number, integer = false): number | undefined {
  const value = body[param];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < low || value > high) {
    throw invalid(param, `'${param}' is ${JSON.stringify(value)}; it must be a number from ${low} to ${high}.`);
  }
  if (integer && !Number.isInteger(value)) {
    throw invalid(param, `'${param}' is ${value}; it must be an integer from ${low} to ${high}.`);
  }
  return value;
}

function optionalBoolean(body: Body, param: string): boolean | undefined {
  const value = body[param];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'boolean')
    throw invalid(param, `'${param}' is ${JSON.stringify(value)}; it must be true or false.`);
  return value;
}

function stopOf(body: Body): string[] | undefined {
  const stop = body.stop;
  if (stop === undefined || stop === null) return undefined;
  const list = typeof stop === 'string' ? [stop] : stop;
  if (!Array.isArray(list) || list.length > 4 || list.some((item) => typeof item !== 'string' || item.length === 0)) {
    throw invalid('stop', "'stop' must be a non-empty string or an array of up to 4 non-empty strings.");
  }
  return list as string[];
}

function logitBiasOf(body: Body): Record<number, number> | undefined {
  const bias = body.logit_bias;
  if (bias === undefined || bias === null) return undefined;
  if (typeof bias !== 'object' || Array.isArray(bias)) {
    throw invalid('logit_bias', "'logit_bias' must be an object mapping token ids to numbers from -100 to 100.");
  }
  const result: Record<number, number> = {};
  for (const [key, value] of Object.entries(bias as Record<string, unknown>)) {
    const token = Number(key);
    if (!/^\d+$/.test(key) || typeof value !== 'number' || !Number.isFinite(value) || value < -100 || value > 100) {
      throw invalid(
        'logit_bias',
        `'logit_bias' entry ${key}: ${JSON.stringify(value)} is not a token id → number from -100 to 100.`,
      );
    }
    result[token] = value;
  }
  return result;
}

/** The checks both endpoints share. */
function checkCommon(
  body: unknown,
  maxTokensParams: readonly string[],
): { body: Body } & Omit<CheckedRequest, 'topLogprobs'> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw invalid('body', 'The request body must be a JSON object.');
  }
  const request = body as Body;
  if (typeof request.model !== 'string' || request.model.length === 0) {
    throw invalid('model', "'model' is required: the name of one of the models listed by GET /v1/models.");
  }
  let maxTokens: number | undefined;
  for (const param of maxTokensParams) maxTokens ??= optionalNumber(request, param, 1, Number.MAX_SAFE_INTEGER, true);
  const n = optionalNumber(request, 'n', 1, 16, true) ?? 1;
  const stream = optionalBoolean(request, 'stream') ?? false;
  const streamOptions = request.stream_options;
  if (streamOptions !== undefined && streamOptions !== null && (typeof streamOptions !== 'object' || !stream)) {
    throw invalid('stream_options', "'stream_options' is only allowed with 'stream': true, as an object.");
  }
  const includeUsage = optionalBoolean((streamOptions ?? {}) as Body, 'include_usage') ?? false;
  const temperature = optionalNumber(request, 'temperature', 0, 2) ?? 1;
  const topP = optionalNumber(request, 'top_p', 0, 1);
  if (topP === 0) throw invalid('top_p', "'top_p' is 0; give a value in (0, 1] (use temperature 0 for greedy).");
  const topK = optionalNumber(request, 'top_k', 0, Number.MAX_SAFE_INTEGER, true);
  const minP = optionalNumber(request, 'min_p', 0, 1);
  const seed = optionalNumber(request, 'seed', Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER, true);
  const presencePenalty = optionalNumber(request, 'presence_penalty', -2, 2);
  const frequencyPenalty = optionalNumber(request, 'frequency_penalty', -2, 2);
  const stop = stopOf(request);
  const logitBias = logitBiasOf(request);
  // llama-server's extension: a GBNF grammar the output must match (llama.cpp's format, start rule `root`).
  const grammar = request.grammar;
  if (grammar !== undefined && grammar !== null && (typeof grammar !== 'string' || grammar.length === 0)) {
    throw invalid('grammar', "'grammar' must be a GBNF grammar (a non-empty string).");
  }
  const options: GenerateOptions = {
    temperature,
    ...(maxTokens === undefined ? {} : { maxTokens }),
    ...(topP === undefined ? {} : { topP }),
    ...(topK === undefined ? {} : { topK }),
    ...(minP === undefined ? {} : { minP }),
    ...(seed === undefined ? {} : { seed }),
    ...(presencePenalty === undefined ? {} : { presencePenalty }),
    ...(frequencyPenalty === undefined ? {} : { frequencyPenalty }),
    ...(stop === undefined ? {} : { stop }),
    ...(logitBias === undefined ? {} : { logitBias }),
    ...(typeof grammar === 'string' ? { grammar } : {}),
  };
  const returnTokens = optionalBoolean(request, 'return_tokens') ?? false;
  return { body: request, model: request.model, n, stream, includeUsage, returnTokens, options };
}

function messageOf(message: unknown, index: number): ChatMessage {
  const param = `messages[${index}]`;
  if (typeof message !== 'object' || message === null) throw invalid(param, `'${param}' must be a message object.`);
  const { role, content, name, tool_call_id: toolCallId, tool_calls: toolCalls } = message as Body;
  if (role !== 'system' && role !== 'developer' && role !== 'user' && role !== 'assistant' && role !== 'tool') {
    throw invalid(
      `${param}.role`,
      `'${param}.role' is ${JSON.stringify(role)}; use system, developer, user, assistant or tool.`,
    );
  }
  let text: string | null;
  if (typeof content === 'string') text = content;
  else if ((content === null || content === undefined) && role === 'assistant') text = null;
  else if (Array.isArray(content)) {
    text = content
      .map((part: unknown, partIndex) => {
        const { type, text: partText } = (part ?? {}) as Body;
        if (type !== 'text' || typeof partText !== 'string') {
          throw invalid(
            `${param}.content[${partIndex}]`,
            `Only text content parts ({type: 'text', text}) are supported.`,
          );
        }
        return partText;
      })
      .join('');
  } else throw invalid(`${param}.content`, `'${param}.content' must be a string or an array of text parts.`);
  return {
    role: role === 'developer' ? 'system' : role,
    content: text,
    ...(typeof name === 'string' ? { name } : {}),
    ...(typeof toolCallId === 'string' ? { tool_call_id: toolCallId } : {}),
    ...(role === 'assistant' && Array.isArray(toolCalls) ? { tool_calls: toolCalls } : {}),
  };
}

/**
 * `response_format`: `text` (or absent) leaves generation free; `json_object` and `json_schema` (`{name, schema,
 * strict}`) constrain it with a grammar (schemas are checked when the request runs: an unsupported keyword is
 * `UNSUPPORTED_SCHEMA`, a 400).
 */
function responseFormatOf(format: unknown): GenerateOptions['responseFormat'] | undefined {
  if (format === undefined || format === null) return undefined;
  const body = format as Body;
  if (typeof format === 'object' && body.type === 'text') return undefined;
  if (typeof format === 'object' && body.type === 'json_object') return { type: 'json_object' };
  const schema = body.json_schema as Body | undefined;
  if (typeof format === 'object' && body.type === 'json_schema' && typeof schema === 'object' && schema !== null) {
    if (typeof schema.name !== 'string' || schema.name.length === 0) {
      throw invalid('response_format', "'response_format.json_schema.name' is required (a non-empty string).");
    }
    return { type: 'json_schema', json_schema: schema as never };
  }
  throw invalid(
    'response_format',
    `'response_format' must be {"type": "text"}, {"type": "json_object"} or {"type": "json_schema", "json_schema": {"name", "schema"}}; got ${JSON.stringify(format)}.`,
  );
}

/** Checks a `chat.completions.create` request; throws `INVALID_ARGUMENT` with `details.param` naming the field. */
export function checkChatRequest(body: unknown): CheckedChatRequest {
  const common = checkCommon(body, ['max_completion_tokens', 'max_tokens']);
  const request = common.body;
  if (!Array.isArray(request.messages) || request.messages.length === 0) {
    throw invalid('messages', "'messages' is required: a non-empty array of {role, content} messages.");
  }
  const messages = request.messages.map(messageOf);
  const logprobs = optionalBoolean(request, 'logprobs') ?? false;
  const top = optionalNumber(request, 'top_logprobs', 0, 20, true);
  if (top !== undefined && !logprobs) throw invalid('top_logprobs', "'top_logprobs' needs 'logprobs': true.");
  const responseFormat = responseFormatOf(request.response_format);
  const tools = checkTools(request.tools);
  const toolChoice = checkToolChoice(request.tool_choice, tools);
  const topLogprobs = logprobs ? (top ?? 0) : -1;
  const truncation = request.truncation ?? 'disabled';
  if (truncation !== 'auto' && truncation !== 'disabled') {
    throw invalid('truncation', `'truncation' is ${JSON.stringify(truncation)}; use 'auto' or 'disabled'.`);
  }
  const { body: _body, ...checked } = common;
  const options = withLogprobs(checked.options, topLogprobs);
  return {
    ...checked,
    topLogprobs,
    truncation: truncation === 'auto',
    messages,
    ...(tools === undefined ? {} : { tools }),
    toolChoice,
    options: responseFormat === undefined ? options : { ...options, responseFormat },
  };
}

/** Checks a `completions.create` request; throws `INVALID_ARGUMENT` with `details.param` naming the field. */
export function checkCompletionRequest(body: unknown): CheckedCompletionRequest {
  const common = checkCommon(body, ['max_tokens']);
  const request = common.body;
  let prompt = request.prompt;
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string') prompt = prompt[0];
  const isIds =
    Array.isArray(prompt) && prompt.length > 0 && prompt.every((id) => typeof id === 'number' && Number.isInteger(id));
  if (!(typeof prompt === 'string' && prompt.length > 0) && !isIds) {
    throw invalid(
      'prompt',
      "'prompt' is required: a non-empty string, an array with one string, or an array of token ids.",
    );
  }
  const top = optionalNumber(request, 'logprobs', 0, 5, true);
  const topLogprobs = top ?? -1;
  const { body: _body, ...checked } = common;
  return {
    ...checked,
    topLogprobs,
    prompt: prompt as string | number[],
    echo: optionalBoolean(request, 'echo') ?? false,
    options: withLogprobs(checked.options, topLogprobs),
  };
}

function withLogprobs(options: GenerateOptions, topLogprobs: number): GenerateOptions {
  return topLogprobs < 0 ? options : { ...options, logprobs: topLogprobs };
}
