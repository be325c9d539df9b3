/**
 * Request and response shapes of the OpenAI chat-completions and completions APIs, as far as strata serves them (field
 * names exactly as OpenAI's, so any OpenAI client reads them).
 */

/** A text part of a message's content. */
export interface OpenAITextPart {
  /** Always `text`. */
  readonly type: 'text';
  /** The text. */
  readonly text: string;
}

/** One message of a chat. */
export interface OpenAIChatMessage {
  /** Who speaks. */
  readonly role: 'system' | 'developer' | 'user' | 'assistant' | 'tool';
  /** The text, or text parts (null for an assistant turn with only tool calls). */
  readonly content?: string | readonly OpenAITextPart[] | null;
  /** Optional speaker name. */
  readonly name?: string;
  /** The tool call a `tool` message answers. */
  readonly tool_call_id?: string;
}

/** Parameters both endpoints share. */
export interface OpenAISamplingRequest {
  /** The model to use (one of `GET /v1/models`). */
  readonly model: string;
  /** Most tokens to generate (deprecated name; see `max_completion_tokens`). */
  readonly max_tokens?: number | null;
  /** 0 … 2; default 1. 0 is greedy. */
  readonly temperature?: number | null;
  /** Nucleus sampling mass, (0, 1]; default 1. */
  readonly top_p?: number | null;
  /** Keep the k most likely tokens (llama-server extension); 0 disables. */
  readonly top_k?: number | null;
  /** Drop tokens below min_p × the best one's probability (llama-server extension). */
  readonly min_p?: number | null;
  /** Seed: the same seed and parameters give the same tokens. */
  readonly seed?: number | null;
  /** Up to 4 stop strings. */
  readonly stop?: string | readonly string[] | null;
  /** Choices to generate, 1 … 16. */
  readonly n?: number | null;
  /** −2 … 2. */
  readonly presence_penalty?: number | null;
  /** −2 … 2. */
  readonly frequency_penalty?: number | null;
  /** Token id (as a string key) → bias in −100 … 100. */
  readonly logit_bias?: Readonly<Record<string, number>> | null;
  /** llama-server's extension: a GBNF grammar (llama.cpp's format, start rule `root`) the output must match. */
  readonly grammar?: string | null;
  /** Stream chunks (server-sent events over HTTP). */
  readonly stream?: boolean | null;
  /** With `stream`: `include_usage` adds a last chunk with the usage. */
  readonly stream_options?: { readonly include_usage?: boolean } | null;
  /** A caller id (accepted, unused). */
  readonly user?: string;
  /**
   * llama-server's extension: each choice's generated token ids come back as `tokens`, on the chunk that ends the choice
   * (streamed) or on the choice (not streamed).
   */
  readonly return_tokens?: boolean | null;
}

/** `POST /v1/chat/completions`. */
export interface ChatCompletionRequest extends OpenAISamplingRequest {
  /** The conversation. */
  readonly messages: readonly OpenAIChatMessage[];
  /** Most tokens to generate. */
  readonly max_completion_tokens?: number | null;
  /** Return log-probabilities of the generated tokens. */
  readonly logprobs?: boolean | null;
  /** With `logprobs`: also the 0 … 20 most likely tokens per position. */
  readonly top_logprobs?: number | null;
  /** Function tools the model may call (rendered by the chat template; calls come back as `tool_calls`). */
  readonly tools?:
    | readonly {
        readonly type: 'function';
        readonly function: { readonly name: string; readonly description?: string; readonly parameters?: unknown };
      }[]
    | null;
  /** `none`, `auto` (default with tools), `required`, or `{type: 'function', function: {name}}`. */
  readonly tool_choice?:
    | 'none'
    | 'auto'
    | 'required'
    | { readonly type: 'function'; readonly function: { readonly name: string } }
    | null;
  /** `text`, `json_object`, or `json_schema` (`{name, schema, strict}`): generation follows the grammar. */
  readonly response_format?:
    | { readonly type: 'text' | 'json_object' }
    | {
        readonly type: 'json_schema';
        readonly json_schema: { readonly name: string; readonly schema?: unknown; readonly strict?: boolean | null };
      }
    | null;
  /**
   * What to do when the conversation does not fit the model's context (the name of OpenAI's Responses API): `auto`
   * leaves out the oldest turns (system messages and the newest turn stay) until the prompt leaves room for the reply
   * (`max_tokens`, else one token), and reports how many as `truncated_messages`; `disabled` (the default) fails with
   * `context_length_exceeded`.
   */
  readonly truncation?: 'auto' | 'disabled' | null;
}

/** `POST /v1/completions`. */
export interface CompletionRequest extends OpenAISamplingRequest {
  /** The prompt: text, one text in an array, or token ids. */
  readonly prompt: string | readonly string[] | readonly number[];
  /** Log-probabilities of the chosen token and the 0 … 5 most likely ones per position. */
  readonly logprobs?: number | null;
  /** Prepend the prompt to the completion. */
  readonly echo?: boolean | null;
}

/** Why a choice ended. */
export type OpenAIFinishReason = 'stop' | 'length' | 'tool_calls';

/** A tool call of a chat completion. */
export interface OpenAIToolCall {
  /** Its id (the `tool_call_id` of the tool's answer). */
  readonly id: string;
  /** Always `function`. */
  readonly type: 'function';
  /** The function and its JSON arguments. */
  readonly function: { readonly name: string; readonly arguments: string };
}

/** Token counts of a request. */
export interface OpenAIUsage {
  /** Prompt tokens (per choice, as OpenAI counts them once). */
  readonly prompt_tokens: number;
  /** Generated tokens of every choice. */
  readonly completion_tokens: number;
  /** Their sum. */
  readonly total_tokens: number;
  /** Prompt tokens served from the prefix cache. */
  readonly prompt_tokens_details: { readonly cached_tokens: number };
}

/** A token's log-probability in chat responses. */
export interface ChatTokenLogprob {
  /** The token's text. */
  readonly token: string;
  /** Its natural log-probability. */
  readonly logprob: number;
  /** UTF-8 bytes of the text. */
  readonly bytes: number[];
  /** The most likely tokens at this position. */
  readonly top_logprobs: readonly { token: string; logprob: number; bytes: number[] }[];
}

/** Chat log-probabilities of a choice or chunk. */
export interface ChatChoiceLogprobs {
  /** One entry per generated token. */
  readonly content: readonly ChatTokenLogprob[];
  /** Always null (no refusals). */
  readonly refusal: null;
}

/** A chat completion. */
export interface ChatCompletion {
  /** `chatcmpl-…`. */
  readonly id: string;
  /** Always `chat.completion`. */
  readonly object: 'chat.completion';
  /** Unix seconds. */
  readonly created: number;
  /** The model that answered. */
  readonly model: string;
  /** The choices. */
  readonly choices: readonly {
    readonly index: number;
    readonly message: {
      readonly role: 'assistant';
      readonly content: string | null;
      readonly refusal: null;
      /** The tools the model called (requests with `tools`). */
      readonly tool_calls?: readonly OpenAIToolCall[];
      /** The model's reasoning, apart from the content. */
      readonly reasoning_content?: string;
    };
    readonly logprobs: ChatChoiceLogprobs | null;
    readonly finish_reason: OpenAIFinishReason;
    /** The generated token ids (requests with `return_tokens`). */
    readonly tokens?: readonly number[];
  }[];
  /** Token counts. */
  readonly usage: OpenAIUsage;
  /** Requests with `truncation: 'auto'`: how many of the oldest messages were left out to fit the context. */
  readonly truncated_messages?: number;
}

/** One streamed chunk of a chat completion. */
export interface ChatCompletionChunk {
  /** Same for every chunk of a completion. */
  readonly id: string;
  /** Always `chat.completion.chunk`. */
  readonly object: 'chat.completion.chunk';
  /** Unix seconds. */
  readonly created: number;
  /** The model. */
  readonly model: string;
  /** Deltas (empty in the usage chunk). */
  readonly choices: readonly {
    readonly index: number;
    readonly delta: {
      readonly role?: 'assistant';
      readonly content?: string;
      readonly reasoning_content?: string;
      /** Started calls (index, id, name) and pieces of their arguments. */
      readonly tool_calls?: readonly {
        readonly index: number;
        readonly id?: string;
        readonly type?: 'function';
        readonly function: { readonly name?: string; readonly arguments?: string };
      }[];
    };
    readonly logprobs: ChatChoiceLogprobs | null;
    readonly finish_reason: OpenAIFinishReason | null;
    /** On the chunk that ends the choice, with `return_tokens`: its generated token ids. */
    readonly tokens?: readonly number[];
  }[];
  /** Null, except in the last chunk when `stream_options.include_usage` was set. */
  readonly usage?: OpenAIUsage | null;
  /** Requests with `truncation: 'auto'` (every chunk): how many of the oldest messages were left out to fit the context. */
  readonly truncated_messages?: number;
}

/** Log-probabilities of a text completion. */
export interface CompletionLogprobs {
  /** Token texts. */
  readonly tokens: string[];
  /** Their log-probabilities. */
  readonly token_logprobs: number[];
  /** Per position, the most likely token texts and their log-probabilities. */
  readonly top_logprobs: Record<string, number>[];
  /** Character offset of each token in the choice's text. */
  readonly text_offset: number[];
}

/** A text completion, or one streamed chunk of it (the same object). */
export interface Completion {
  /** `cmpl-…`. */
  readonly id: string;
  /** Always `text_completion`. */
  readonly object: 'text_completion';
  /** Unix seconds. */
  readonly created: number;
  /** The model. */
  readonly model: string;
  /** The choices (deltas when streamed). */
  readonly choices: readonly {
    readonly index: number;
    readonly text: string;
    readonly logprobs: CompletionLogprobs | null;
    readonly finish_reason: OpenAIFinishReason | null;
    /** With `return_tokens`: the generated token ids (streamed: on the chunk that ends the choice). */
    readonly tokens?: readonly number[];
  }[];
  /** Token counts (null in streamed chunks but the last with `include_usage`). */
  readonly usage?: OpenAIUsage | null;
}

/** `GET /v1/models`. */
export interface OpenAIModelList {
  /** Always `list`. */
  readonly object: 'list';
  /** The models. */
  readonly data: readonly { id: string; object: 'model'; created: number; owned_by: string }[];
}

/** The error body OpenAI returns (and the HTTP status to send it with). */
export interface OpenAIErrorResponse {
  /** HTTP status. */
  readonly status: number;
  /** The JSON body. */
  readonly body: {
    readonly error: {
      readonly message: string;
      readonly type: string;
      readonly param: string | null;
      readonly code: string | null;
    };
  };
}
