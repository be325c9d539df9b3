/** Sampling and length options of the page's form. */
export interface RequestOptions {
  readonly maxTokens: number;
  /** 0 is greedy. */
  readonly temperature: number;
  /** 0: no top-k cut. */
  readonly topK: number;
  readonly topP: number;
  /** Undefined: a fresh seed per request. */
  readonly seed?: number;
  /** Report each token's log-probability and this many most likely alternatives (costs a logits read per step). */
  readonly alternatives?: number;
}

/**
 * The form's options as the fields of an OpenAI request (`top_k` as llama-server's extension), streamed with a usage
 * chunk at the end and each choice's token ids (`return_tokens`) on its last chunk.
 */
export function requestFields(model: string, options: RequestOptions) {
  return {
    model,
    max_tokens: options.maxTokens,
    temperature: options.temperature,
    top_p: options.topP,
    top_k: options.topK,
    ...(options.seed === undefined ? {} : { seed: options.seed }),
    stream: true as const,
    stream_options: { include_usage: true },
    return_tokens: true,
  };
}
