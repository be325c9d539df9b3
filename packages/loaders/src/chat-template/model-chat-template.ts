import type { GgufMetadata } from '../gguf/gguf-metadata.js';
import type { ModelFiles } from '../model-files.js';
import { ChatTemplate, type ChatTemplateClock } from './chat-template.js';
import type { ChatTemplateLimits } from './render-budget.js';
import { type ResolvedChatTemplate, resolveChatTemplate } from './resolve-chat-template.js';

/** Options of {@link loadChatTemplate}. */
export interface LoadChatTemplateOptions {
  /** A template of the caller's, used instead of the model's. */
  readonly explicit?: string;
  /** A named template (`tool_use`, …) from `tokenizer_config.json` or GGUF `tokenizer.chat_template.NAME`. */
  readonly name?: string;
  /** Prefers a `tool_use` template when the model has one (transformers does so when tools are passed). */
  readonly hasTools?: boolean;
  /** The clock behind `strftime_now`. */
  readonly now?: ChatTemplateClock;
  /** The render budget (see {@link ChatTemplateLimits}); the defaults suit any real template. */
  readonly limits?: ChatTemplateLimits;
}

/** A model's compiled chat template with its special tokens. */
export interface ModelChatTemplate {
  /** Compiled, with `bos_token` and `eos_token` set from the model. */
  readonly template: ChatTemplate;
  /** The source and where it came from. */
  readonly resolved: ResolvedChatTemplate;
  /** The model's BOS token text, when it has one. */
  readonly bosToken: string | undefined;
  /** The model's EOS token text, when it has one. */
  readonly eosToken: string | undefined;
}

/** A `tokenizer_config.json` special token: a string or an AddedToken object `{"content": …}`. */
export function specialTokenText(value: unknown): string | undefined {
  if (typeof value === 'string') return value;
  if (typeof value === 'object' && value !== null && typeof (value as { content?: unknown }).content === 'string') {
    return (value as { content: string }).content;
  }
  return undefined;
}

/** The text of the token whose id is stored under `idKey` in GGUF metadata. */
function ggufToken(metadata: GgufMetadata, idKey: string): string | undefined {
  const id = metadata.findInteger(idKey);
  return id === undefined ? undefined : metadata.findStringArray('tokenizer.ggml.tokens')?.[id];
}

/**
 * Resolves and compiles the chat template of an opened model ({@link resolveChatTemplate} order), with the BOS and
 * EOS texts the template expects: from `tokenizer_config.json` for Hugging Face directories, from the GGUF vocabulary
 * (`tokenizer.ggml.bos_token_id`, `eos_token_id`) for GGUF files. Throws `TEMPLATE_NOT_FOUND` when there is none.
 */
export function loadChatTemplate(model: ModelFiles, options: LoadChatTemplateOptions = {}): ModelChatTemplate {
  let resolved: ResolvedChatTemplate;
  let bosToken: string | undefined;
  let eosToken: string | undefined;
  if (model.format === 'gguf') {
    const key = options.name === undefined ? 'tokenizer.chat_template' : `tokenizer.chat_template.${options.name}`;
    resolved = resolveChatTemplate({ explicit: options.explicit, ggufTemplate: model.metadata.findString(key) });
    bosToken = ggufToken(model.metadata, 'tokenizer.ggml.bos_token_id');
    eosToken = ggufToken(model.metadata, 'tokenizer.ggml.eos_token_id');
  } else {
    const { tokenizerConfig, chatTemplate } = model.huggingface;
    resolved = resolveChatTemplate({
      explicit: options.explicit,
      chatTemplateJinja: chatTemplate === tokenizerConfig?.chat_template ? undefined : chatTemplate,
      tokenizerConfig,
      name: options.name,
      hasTools: options.hasTools,
    });
    bosToken = specialTokenText(tokenizerConfig?.bos_token);
    eosToken = specialTokenText(tokenizerConfig?.eos_token);
  }
  const template = new ChatTemplate(resolved.source, {
    bosToken,
    eosToken,
    ...(options.now === undefined ? {} : { now: options.now }),
    ...(options.limits === undefined ? {} : { limits: options.limits }),
  });
  return { template, resolved, bosToken, eosToken };
}
