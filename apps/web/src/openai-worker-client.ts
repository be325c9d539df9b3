/**
 * The page's side of the OpenAI-shaped API that the model worker hosts (`@strata/pipeline`'s `OpenAICompatibleApi`): the
 * same `chat.completions.create` and `completions.create`, with OpenAI's request bodies, chunk and response objects,
 * carried over `postMessage`. The page could use an in-process `OpenAICompatibleApi` in its place unchanged.
 */
import type {
  ChatCompletionChunk,
  ChatCompletions,
  Completion,
  Completions,
  CreateOptions,
  OpenAIErrorResponse,
} from '@strata/pipeline';
import type { ApiEndpoint, ApiEvent, ApiRequest } from './protocol.js';

/** A failed API request: OpenAI's error object (`message`, `type`, `param`, `code`) and its HTTP status. */
export class OpenAIApiError extends Error {
  /** The HTTP status a server would answer (400 bad request, 404 unknown model, 500 …). */
  readonly status: number;
  /** OpenAI's error type (`invalid_request_error`, `server_error`, …). */
  readonly type: string;
  /** The request field at fault, when one is. */
  readonly param: string | null;
  /** OpenAI's error code (`context_length_exceeded`, `model_not_found`, `invalid_value`, …). */
  readonly code: string | null;

  /** The error of `response`. */
  constructor(response: OpenAIErrorResponse) {
    super(response.body.error.message);
    this.name = 'OpenAIApiError';
    this.status = response.status;
    this.type = response.body.error.type;
    this.param = response.body.error.param;
    this.code = response.body.error.code;
  }
}

type Chunk = ChatCompletionChunk | Completion;

/** One request in flight: how its first answer settles `create`, and the chunks its stream has not handed out yet. */
interface Pending {
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
  readonly chunks: Chunk[];
  streaming: boolean;
  ended: boolean;
  failure: OpenAIApiError | undefined;
  wake: (() => void) | undefined;
}

/** `chat.completions` and `completions` of the worker's API (OpenAI's client shape). */
export class OpenAIWorkerClient {
  /** `chat.completions.create(request, { signal })`. */
  readonly chat: { readonly completions: ChatCompletions };
  /** `completions.create(request, { signal })`. */
  readonly completions: Completions;
  readonly #send: (message: ApiRequest) => void;
  readonly #pending = new Map<number, Pending>();
  #nextId = 0;

  /** A client that sends requests with `send`; hand it the worker's answers with {@link receive}. */
  constructor(send: (message: ApiRequest) => void) {
    this.#send = send;
    this.chat = {
      completions: {
        create: ((request, options) => this.#create('chat.completions', request, options)) as ChatCompletions['create'],
      },
    };
    this.completions = {
      create: ((request, options) => this.#create('completions', request, options)) as Completions['create'],
    };
  }

  /** Hands an answer of the worker to the request it belongs to. */
  receive(event: ApiEvent): void {
    const pending = this.#pending.get(event.id);
    if (pending === undefined) return;
    switch (event.type) {
      case 'api-stream':
        pending.streaming = true;
        pending.resolve(this.#stream(event.id, pending));
        break;
      case 'api-response':
        this.#pending.delete(event.id);
        pending.resolve(event.response);
        break;
      case 'api-chunk':
        pending.chunks.push(event.chunk);
        break;
      case 'api-end':
        pending.ended = true;
        break;
      case 'api-error': {
        const error = new OpenAIApiError(event.error);
        pending.failure = error;
        // Before the stream began, `create` rejects; after, the stream throws it where it stands.
        if (!pending.streaming) {
          this.#pending.delete(event.id);
          pending.reject(error);
        }
        break;
      }
    }
    pending.wake?.();
  }

  /** Fails every request in flight (the worker is gone). */
  failAll(response: OpenAIErrorResponse): void {
    for (const id of this.#pending.keys()) this.receive({ type: 'api-error', id, error: response });
  }

  #create(endpoint: ApiEndpoint, request: unknown, options: CreateOptions = {}): Promise<unknown> {
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      this.#pending.set(id, {
        resolve,
        reject,
        chunks: [],
        streaming: false,
        ended: false,
        failure: undefined,
        wake: undefined,
      });
      this.#send({ type: 'api', id, endpoint, request } as ApiRequest);
      const { signal } = options;
      if (signal === undefined) return;
      const abort = () => {
        if (this.#pending.has(id)) this.#send({ type: 'api-abort', id });
      };
      if (signal.aborted) abort();
      else signal.addEventListener('abort', abort, { once: true });
    });
  }

  /** The chunks of request `id` as they arrive; leaving the loop early aborts the request. */
  async *#stream(id: number, pending: Pending): AsyncGenerator<Chunk> {
    try {
      for (;;) {
        const next = pending.chunks.shift();
        if (next !== undefined) yield next;
        else if (pending.failure !== undefined) throw pending.failure;
        else if (pending.ended) return;
        else await new Promise<void>((wake) => (pending.wake = wake));
      }
    } finally {
      pending.wake = undefined;
      if (!pending.ended && pending.failure === undefined) this.#send({ type: 'api-abort', id });
      this.#pending.delete(id);
    }
  }
}
