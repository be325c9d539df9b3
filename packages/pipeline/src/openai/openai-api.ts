import { StrataError } from '@strata/core';
import { type AssistantDelta, splitReasoning } from '@strata/structured';
import type { GenerationResult } from '../generation/types.js';
import type { Scheduler } from '../scheduler/scheduler.js';
import { type CheckedChatRequest, checkChatRequest, checkCompletionRequest } from './check-request.js';
import { dropOldestTurns } from '../text/fit-conversation.js';
import { createReasoningStream, promptOpensReasoning } from './reasoning-stream.js';
import { type ChoiceToolStream, createChoiceToolStream, parseChoice, toolCallingOf } from './tool-calling.js';
import {
  createEmbeddings,
  type EmbeddingApiModel,
  type EmbeddingRequest,
  type EmbeddingResponse,
} from './embeddings.js';
import { type ChoiceRun, chatLogprobsOf, finishReasonOf, runChoices, usageOf } from './choice-runner.js';
import { createTextCompletion } from './text-completions.js';
import type {
  ChatCompletion,
  ChatCompletionChunk,
  ChatCompletionRequest,
  ChatTokenLogprob,
  Completion,
  CompletionRequest,
  OpenAIModelList,
} from './openai-types.js';

/** A model the API serves. */
export interface ApiModel {
  /** The name requests use in `model`. */
  readonly name: string;
  /** The scheduler that runs its sequences. */
  readonly scheduler: Scheduler;
}

/** Per-call options of `create`. */
export interface CreateOptions {
  /** Aborts every choice of the request (frees their pages at once). */
  readonly signal?: AbortSignal;
}

/** The chat-completions endpoint: `create(request)` as OpenAI's client. */
export interface ChatCompletions {
  /** A chat completion, or with `stream: true` an async iterable of chunks. Bad requests reject with a `StrataError`. */
  create(
    request: ChatCompletionRequest & { stream: true },
    options?: CreateOptions,
  ): Promise<AsyncIterable<ChatCompletionChunk>>;
  create(request: ChatCompletionRequest & { stream?: false | null }, options?: CreateOptions): Promise<ChatCompletion>;
  create(
    request: ChatCompletionRequest,
    options?: CreateOptions,
  ): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>>;
}

/** The completions endpoint. */
export interface Completions {
  /** A text completion, or with `stream: true` an async iterable of chunks. Bad requests reject with a `StrataError`. */
  create(request: CompletionRequest & { stream: true }, options?: CreateOptions): Promise<AsyncIterable<Completion>>;
  create(request: CompletionRequest & { stream?: false | null }, options?: CreateOptions): Promise<Completion>;
  create(request: CompletionRequest, options?: CreateOptions): Promise<Completion | AsyncIterable<Completion>>;
}

const seconds = () => Math.floor(Date.now() / 1000);
const randomId = () => globalThis.crypto.randomUUID().replaceAll('-', '');

/**
 * An OpenAI-shaped in-process API over one or more schedulers, for browsers (in a Worker) and Node alike:
 * `api.chat.completions.create({model, messages, …})` and `api.completions.create({model, prompt, …})` return
 * OpenAI's objects, or with `stream: true` async iterables of its chunk objects. Requests are checked at the boundary:
 * a bad one rejects with a `StrataError` (see `toOpenAIError` for the OpenAI error object); an unknown model is
 * `MODEL_NOT_FOUND`.
 *
 * ```ts
 * const api = new OpenAICompatibleApi([{ name: 'tiny', scheduler }]);
 * const reply = await api.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Hi' }] });
 * ```
 */
export class OpenAICompatibleApi {
  /** `chat.completions.create`. */
  readonly chat: { readonly completions: ChatCompletions };
  /** `completions.create`. */
  readonly completions: Completions;
  /** `embeddings.create` (the embedding models given to the constructor). */
  readonly embeddings: { create(request: EmbeddingRequest): Promise<EmbeddingResponse> };
  /** `models.list()`. */
  readonly models: { list(): OpenAIModelList };
  private readonly served = new Map<string, Scheduler>();
  private readonly embedders = new Map<string, EmbeddingApiModel['embeddings']>();
  private readonly created = seconds();

  /** Serves the generative `models` and the `embeddingModels` under their names (one namespace). */
  constructor(models: readonly ApiModel[], embeddingModels: readonly EmbeddingApiModel[] = []) {
    const taken = (name: string) => this.served.has(name) || this.embedders.has(name);
    for (const { name, scheduler } of models) {
      if (taken(name)) throw new StrataError('INVALID_ARGUMENT', `Two models are named '${name}'.`);
      this.served.set(name, scheduler);
    }
    for (const { name, embeddings } of embeddingModels) {
      if (taken(name)) throw new StrataError('INVALID_ARGUMENT', `Two models are named '${name}'.`);
      this.embedders.set(name, embeddings);
    }
    this.embeddings = { create: (request) => this.createEmbeddings(request) };
    this.chat = {
      completions: { create: ((request, options) => this.createChat(request, options)) as ChatCompletions['create'] },
    };
    this.completions = {
      create: (async (request, options = {}) => {
        const checked = checkCompletionRequest(request);
        return createTextCompletion(this.scheduler(checked.model), checked, options.signal);
      }) as Completions['create'],
    };
    this.models = {
      list: () => ({
        object: 'list',
        data: [...this.served.keys(), ...this.embedders.keys()].map((id) => ({
          id,
          object: 'model',
          created: this.created,
          owned_by: 'strata',
        })),
      }),
    };
  }

  /** The scheduler serving `name` (`MODEL_NOT_FOUND` naming the served ones otherwise). */
  scheduler(name: string): Scheduler {
    const scheduler = this.served.get(name);
    if (scheduler === undefined) {
      throw new StrataError(
        'MODEL_NOT_FOUND',
        `The model '${name}' does not exist; this server has: ${[...this.served.keys()].join(', ') || 'none'}.`,
        { details: { model: name, param: 'model' } },
      );
    }
    return scheduler;
  }

  private createEmbeddings(request: EmbeddingRequest): Promise<EmbeddingResponse> {
    const name = typeof request === 'object' && request !== null ? request.model : undefined;
    const pipeline = typeof name === 'string' ? this.embedders.get(name) : undefined;
    if (pipeline === undefined) {
      const generative = typeof name === 'string' && this.served.has(name);
      return Promise.reject(
        new StrataError(
          generative ? 'INVALID_ARGUMENT' : 'MODEL_NOT_FOUND',
          generative
            ? `The model '${name}' generates text; embeddings come from: ${[...this.embedders.keys()].join(', ') || 'no model on this server'}.`
            : `The embedding model '${String(name)}' does not exist; this server has: ${[...this.embedders.keys()].join(', ') || 'none'}.`,
          { details: { model: String(name), param: 'model' } },
        ),
      );
    }
    return createEmbeddings(pipeline, request);
  }

  private async createChat(
    body: ChatCompletionRequest,
    options: CreateOptions = {},
  ): Promise<ChatCompletion | AsyncIterable<ChatCompletionChunk>> {
    const checked = checkChatRequest(body);
    const scheduler = this.scheduler(checked.model);
    const offered = checked.toolChoice === 'none' ? undefined : checked.tools;
    const calling =
      offered === undefined ? undefined : toolCallingOf(scheduler.chatTemplate?.source, offered, checked.toolChoice);
    // A required (or named) call is enforced by the grammar of the model's call format.
    const request =
      calling?.constraint === undefined
        ? checked
        : { ...checked, options: { ...checked.options, constraint: calling.constraint } };
    const render = (messages: CheckedChatRequest['messages']) => scheduler.renderChat(messages, offered);
    const tokenize = (text: string) => scheduler.tokenizer.encode(text, { addSpecial: false, parseSpecial: true });
    let prompt = render(request.messages);
    let ids = tokenize(prompt);
    // With `truncation: 'auto'`, the oldest turns are left out until the prompt leaves room for the reply.
    const fitted = request.truncation
      ? dropOldestTurns(
          request.messages,
          (messages) => tokenize(render(messages)),
          { contextLength: scheduler.contextLength, replyRoom: request.options.maxTokens ?? 1 },
          ids,
        )
      : undefined;
    if (fitted !== undefined && fitted.droppedMessages > 0) {
      prompt = render(fitted.messages);
      ids = fitted.ids;
    }
    const opensReasoning = promptOpensReasoning(prompt);
    const run = runChoices(scheduler, ids, request, options.signal);
    const tokenText = (token: number) => scheduler.tokenizer.decode([token]);
    const base = {
      id: `chatcmpl-${randomId()}`,
      created: seconds(),
      model: request.model,
      ...(fitted === undefined ? {} : { truncated_messages: fitted.droppedMessages }),
    };
    const tokensOf = (result: GenerationResult) => (request.returnTokens ? { tokens: [...result.tokens] } : {});
    if (request.stream) {
      const toolStream = calling === undefined ? undefined : () => createChoiceToolStream(scheduler.tokenizer, calling);
      const reasoningStream = () => createReasoningStream(opensReasoning);
      return this.streamChat(run, base, request, tokenText, toolStream, reasoningStream);
    }
    const texts: string[] = Array(request.n).fill('');
    const logprobs: ChatTokenLogprob[][] = Array.from({ length: request.n }, () => []);
    const results: GenerationResult[] = [];
    for await (const event of run.events) {
      if ('delta' in event) {
        texts[event.index] += event.delta.text;
        logprobs[event.index]!.push(...chatLogprobsOf(event.delta, tokenText));
      } else results[event.index] = event.result;
    }
    return {
      ...base,
      object: 'chat.completion',
      choices: results.map((result, index) => {
        const parsed = calling === undefined ? undefined : parseChoice(scheduler.tokenizer, result.tokens, calling);
        const calls = parsed?.tool_calls ?? [];
        // Without tools, leading reasoning (`<think>…</think>`) is still split from the content.
        const split = parsed === undefined ? splitReasoning(texts[index]!, opensReasoning) : undefined;
        const reasoning = parsed?.reasoning_content ?? (split?.reasoning ? split.reasoning : undefined);
        const content =
          split !== undefined ? split.content : calls.length > 0 && parsed!.content === '' ? null : parsed!.content;
        return {
          index,
          message: {
            role: 'assistant',
            content,
            refusal: null,
            ...(calls.length > 0 ? { tool_calls: calls } : {}),
            ...(reasoning === undefined ? {} : { reasoning_content: reasoning }),
          },
          logprobs: request.topLogprobs >= 0 ? { content: logprobs[index]!, refusal: null } : null,
          finish_reason: calls.length > 0 ? 'tool_calls' : finishReasonOf(result.finishReason),
          ...tokensOf(result),
        };
      }),
      usage: usageOf(run.promptTokens, results),
    };
  }

  private async *streamChat(
    run: ChoiceRun,
    base: { id: string; created: number; model: string; truncated_messages?: number },
    request: CheckedChatRequest,
    tokenText: (token: number) => string,
    toolStream?: () => ChoiceToolStream,
    reasoningStream?: () => ReturnType<typeof createReasoningStream>,
  ): AsyncGenerator<ChatCompletionChunk> {
    const { includeUsage } = request;
    const withLogprobs = request.topLogprobs >= 0;
    const chunk = (
      choices: ChatCompletionChunk['choices'],
      usage?: ChatCompletionChunk['usage'],
    ): ChatCompletionChunk => ({
      ...base,
      object: 'chat.completion.chunk',
      choices,
      ...(includeUsage ? { usage: usage ?? null } : {}),
    });
    // The chunk that ends a choice carries its token ids when the request asked for them.
    const end = (index: number, reason: ChatCompletionChunk['choices'][0]['finish_reason'], result: GenerationResult) =>
      chunk([
        {
          index,
          delta: {},
          logprobs: null,
          finish_reason: reason,
          ...(request.returnTokens ? { tokens: [...result.tokens] } : {}),
        },
      ]);
    const results: GenerationResult[] = [];
    const started = new Set<number>();
    // With tools, each choice's tokens go through a tool-call parser: content, reasoning and call deltas come out.
    const parsers = new Map<number, ChoiceToolStream>();
    const splitters = new Map<number, ReturnType<typeof createReasoningStream>>();
    const parsed = (index: number, deltas: readonly AssistantDelta[]) =>
      deltas.map((delta) => chunk([{ index, delta, logprobs: null, finish_reason: null }]));
    for await (const event of run.events) {
      const { index } = event;
      if (!started.has(index)) {
        started.add(index);
        yield chunk([{ index, delta: { role: 'assistant', content: '' }, logprobs: null, finish_reason: null }]);
        if (toolStream !== undefined) parsers.set(index, toolStream());
        else if (reasoningStream !== undefined) splitters.set(index, reasoningStream());
      }
      const parser = parsers.get(index);
      if (parser !== undefined) {
        if ('delta' in event) {
          if (event.delta.token !== undefined) yield* parsed(index, parser.push(event.delta.token));
        } else {
          results[index] = event.result;
          const { deltas, message } = parser.finish();
          yield* parsed(index, deltas);
          const reason = message.tool_calls.length > 0 ? 'tool_calls' : finishReasonOf(event.result.finishReason);
          yield end(index, reason, event.result);
        }
        continue;
      }
      const splitter = splitters.get(index);
      if ('delta' in event) {
        const entries = chatLogprobsOf(event.delta, tokenText);
        const text = event.delta.text;
        const delta = splitter === undefined ? (text.length > 0 ? { content: text } : undefined) : splitter.push(text);
        if (delta === undefined && entries.length === 0) continue;
        yield chunk([
          {
            index,
            delta: delta ?? { content: '' },
            logprobs: withLogprobs ? { content: entries, refusal: null } : null,
            finish_reason: null,
          },
        ]);
      } else {
        results[index] = event.result;
        const rest = splitter?.finish();
        if (rest !== undefined) yield chunk([{ index, delta: rest, logprobs: null, finish_reason: null }]);
        yield end(index, finishReasonOf(event.result.finishReason), event.result);
      }
    }
    if (includeUsage) yield chunk([], usageOf(run.promptTokens, results));
  }
}
