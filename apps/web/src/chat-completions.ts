/**
 * The chat protocol between the page and the model, shaped as OpenAI's chat-completions API with `stream: true`: a
 * request body and a stream of `chat.completion.chunk` objects. The worker speaks it today; the in-process
 * OpenAI-shaped API of `@strata/pipeline` can take its place behind {@link ChatCompletions} without the page changing.
 * Fields beyond OpenAI's are under `strata` (the token ids, the stats, the turns dropped to fit the context).
 */
import type { GenerationStats } from '@strata/pipeline';

/** One message of the conversation. */
export interface ChatCompletionMessage {
  readonly role: 'system' | 'user' | 'assistant';
  readonly content: string;
}

/** The request body (OpenAI's names; `top_k` as llama.cpp's server accepts it). */
export interface ChatCompletionRequest {
  readonly messages: readonly ChatCompletionMessage[];
  readonly max_tokens: number;
  readonly temperature: number;
  readonly top_p: number;
  readonly top_k?: number;
  readonly seed?: number;
  readonly stream: true;
  /** What to do when the conversation does not fit the context: drop the oldest turns (system messages stay). */
  readonly truncation?: 'oldest-turns' | 'error';
}

/** Why a completion ended (OpenAI's values). */
export type ChatFinishReason = 'stop' | 'length' | 'aborted';

/** One streamed piece of a completion. */
export interface ChatCompletionChunk {
  readonly id: string;
  readonly object: 'chat.completion.chunk';
  /** Seconds since the epoch. */
  readonly created: number;
  readonly model: string;
  readonly choices: readonly {
    readonly index: 0;
    readonly delta: { readonly role?: 'assistant'; readonly content?: string };
    readonly finish_reason: ChatFinishReason | null;
  }[];
  /** On the last chunk. */
  readonly usage?: {
    readonly prompt_tokens: number;
    readonly completion_tokens: number;
    readonly total_tokens: number;
  };
  /** strata's additions. */
  readonly strata?: {
    /** The token of this chunk's text. */
    readonly token?: number;
    /** On the first chunk: how many of the oldest messages were left out to fit the context. */
    readonly droppedMessages?: number;
    /** On the last chunk: every generated token and the generation's figures. */
    readonly tokens?: readonly number[];
    readonly stats?: GenerationStats;
  };
}

/** What creates chat completions: the model worker's client today, the in-process API later. */
export interface ChatCompletions {
  /** Streams the completion of `request` to `onChunk`; resolves after the last chunk, rejects with a coded error. */
  create(request: ChatCompletionRequest, onChunk: (chunk: ChatCompletionChunk) => void): Promise<void>;
  /** Stops the running completion (its last chunk then says `aborted`). */
  stop(): void;
}
