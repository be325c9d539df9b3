/**
 * What the pipeline needs of a tokenizer. `@strata/loaders` tokenizers satisfy it; tests may pass any object that does.
 */
export interface PipelineTokenizer {
  /** Token ids of `text`; `addSpecialTokens` adds what the model expects around a prompt (BOS). */
  encode(text: string, options?: { readonly addSpecialTokens?: boolean }): ArrayLike<number>;
  /** Text of `ids`; `skipSpecialTokens` leaves out control tokens. */
  decode(ids: ArrayLike<number>, options?: { readonly skipSpecialTokens?: boolean }): string;
  /** Ids that end a generation (EOS, end-of-turn tokens). */
  readonly endOfGenerationIds: readonly number[];
}

/** One message of a chat. */
export interface ChatMessage {
  /** `system`, `user`, `assistant` or another role the template knows. */
  readonly role: string;
  /** The text of the message. */
  readonly content: string;
}

/** What the pipeline needs of a chat template: render a conversation to the model's prompt text. */
export interface PipelineChatTemplate {
  /** The prompt for `messages`; `addGenerationPrompt` appends the header of the assistant's next turn. */
  render(messages: readonly ChatMessage[], options: { readonly addGenerationPrompt: boolean }): string;
}
