import { REASONING_MARKERS, splitReasoning } from '@strata/structured';

/** Whether a rendered prompt already opened the reasoning (DeepSeek-R1 and Qwen3 thinking templates end with `<think>`). */
export function promptOpensReasoning(prompt: string): boolean {
  const end = prompt.trimEnd();
  return REASONING_MARKERS.some(([open]) => end.endsWith(open));
}

/** A piece of a streamed message: more reasoning and/or more content. */
export interface ReasoningDelta {
  /** More of the model's reasoning. */
  readonly reasoning_content?: string;
  /** More content for the user. */
  readonly content?: string;
}

/**
 * Splits a streamed message's leading reasoning (`<think>…</think>` and the other markers) from its content as the
 * text arrives: text that may still turn out to be an opening marker is held back until it is decided, then reasoning
 * and content are handed out as they grow. Without a marker the content passes through unchanged.
 */
export function createReasoningStream(startsInReasoning: boolean): {
  push(text: string): ReasoningDelta | undefined;
  finish(): ReasoningDelta | undefined;
} {
  let text = '';
  let reasoningSent = 0;
  let contentSent = 0;
  const next = (final: boolean): ReasoningDelta | undefined => {
    const split = splitReasoning(text, startsInReasoning, final);
    const reasoning = split.reasoning.slice(reasoningSent);
    const content = split.content.slice(contentSent);
    reasoningSent = split.reasoning.length;
    contentSent = split.content.length;
    if (reasoning.length === 0 && content.length === 0) return undefined;
    return {
      ...(reasoning.length > 0 ? { reasoning_content: reasoning } : {}),
      ...(content.length > 0 ? { content } : {}),
    };
  };
  return {
    push(piece) {
      text += piece;
      return next(false);
    },
    finish: () => next(true),
  };
}
