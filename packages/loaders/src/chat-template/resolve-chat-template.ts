import { StrataError } from '@strata/core';

/** Where a resolved chat template came from. */
export type ChatTemplateOrigin = 'explicit' | 'chat_template.jinja' | 'tokenizer_config.json' | 'gguf';

/** A chat template's text and where it was found. */
export interface ResolvedChatTemplate {
  /** The Jinja source. */
  readonly source: string;
  /** Which of the sources supplied it. */
  readonly origin: ChatTemplateOrigin;
  /** The name it was picked by, when `tokenizer_config.json` holds a list of named templates. */
  readonly name?: string;
}

/** The sources a chat template may come from; {@link resolveChatTemplate} takes the first one present. */
export interface ChatTemplateSources {
  /** A template given by the caller (highest priority). */
  readonly explicit?: string;
  /** The text of the model's `chat_template.jinja`. */
  readonly chatTemplateJinja?: string;
  /** The parsed `tokenizer_config.json`; its `chat_template` is a string or a list of `{name, template}`. */
  readonly tokenizerConfig?: { readonly chat_template?: unknown; readonly [key: string]: unknown } | null;
  /** The GGUF metadata value `tokenizer.chat_template`. */
  readonly ggufTemplate?: string;
  /** Picks a named template from a list (transformers' `chat_template="tool_use"`); default `default`. */
  readonly name?: string;
  /** The conversation uses tools: with no `name`, a `tool_use` template is preferred, as transformers does. */
  readonly hasTools?: boolean;
}

const present = (text: string | undefined): text is string => typeof text === 'string' && text.length > 0;

function namedTemplates(value: unknown): Map<string, string> | undefined {
  if (typeof value === 'object' && value !== null && !Array.isArray(value)) {
    // A mapping name → template (how transformers holds the list in memory).
    const entries = Object.entries(value).filter((entry): entry is [string, string] => typeof entry[1] === 'string');
    return new Map(entries);
  }
  if (!Array.isArray(value)) return undefined;
  const templates = new Map<string, string>();
  for (const entry of value) {
    const { name, template } = (entry ?? {}) as { name?: unknown; template?: unknown };
    if (typeof name !== 'string' || typeof template !== 'string') {
      throw new StrataError(
        'INVALID_CONFIG',
        'tokenizer_config.json: chat_template is a list whose entries are not {"name": string, "template": string}.',
      );
    }
    templates.set(name, template);
  }
  return templates;
}

function pickNamed(templates: Map<string, string>, sources: ChatTemplateSources): ResolvedChatTemplate {
  const available = [...templates.keys()].map((name) => `'${name}'`).join(', ');
  const origin = 'tokenizer_config.json';
  if (sources.name !== undefined) {
    const source = templates.get(sources.name);
    if (source === undefined) {
      throw new StrataError(
        'TEMPLATE_NOT_FOUND',
        `tokenizer_config.json has no chat template named '${sources.name}'. Available: ${available}.`,
        { details: { available: [...templates.keys()] } },
      );
    }
    return { source, origin, name: sources.name };
  }
  const name = sources.hasTools === true && templates.has('tool_use') ? 'tool_use' : 'default';
  const source = templates.get(name);
  if (source === undefined) {
    throw new StrataError(
      'TEMPLATE_NOT_FOUND',
      `tokenizer_config.json holds several chat templates and none is named 'default'. Pass the name of one ` +
        `(${available}) or a template of your own.`,
      { details: { available: [...templates.keys()] } },
    );
  }
  return { source, origin, name };
}

/**
 * Picks the chat template in transformers' order: the caller's template, then `chat_template.jinja`, then
 * `tokenizer_config.json`'s `chat_template` (a string, or a list of named templates from which `name`, else `tool_use`
 * when tools are used and present, else `default` is taken), then the GGUF `tokenizer.chat_template`. With none,
 * throws `StrataError('TEMPLATE_NOT_FOUND')`.
 */
export function resolveChatTemplate(sources: ChatTemplateSources): ResolvedChatTemplate {
  if (present(sources.explicit)) return { source: sources.explicit, origin: 'explicit' };
  if (present(sources.chatTemplateJinja)) return { source: sources.chatTemplateJinja, origin: 'chat_template.jinja' };
  const configured = sources.tokenizerConfig?.chat_template;
  if (typeof configured === 'string' && configured.length > 0) {
    return { source: configured, origin: 'tokenizer_config.json' };
  }
  const named = namedTemplates(configured);
  if (named !== undefined && named.size > 0) return pickNamed(named, sources);
  if (present(sources.ggufTemplate)) return { source: sources.ggufTemplate, origin: 'gguf' };
  throw new StrataError(
    'TEMPLATE_NOT_FOUND',
    'The model has no chat template (no chat_template.jinja, no chat_template in tokenizer_config.json, no ' +
      'tokenizer.chat_template in the GGUF metadata). Pass one explicitly (a Jinja template text or a .jinja file).',
  );
}
