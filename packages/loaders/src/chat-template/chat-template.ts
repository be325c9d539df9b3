import { Environment, parse, tokenize } from '@huggingface/jinja';
import { StrataError } from '@strata/core';
import { ChatTemplateInterpreter } from './interpreter.js';
import { splitArguments } from './methods.js';
import { TemplateRuntimeError } from './python-semantics.js';
import { type ChatTemplateLimits, RenderBudget, renderBudget, withRenderBudget } from './render-budget.js';
import { dict, fn, type JinjaValue, list, int, is, str, toJinja } from './runtime-values.js';
import { strftime } from './strftime.js';
import { locateSyntaxError } from './syntax-location.js';
import { normalizeStringEscapes } from './string-escapes.js';
import { rewriteTokens } from './token-rewrites.js';

/** One chat message as templates read it: a role, content (text, parts or none) and any other fields (tool calls…). */
export interface ChatMessage {
  /** `system`, `user`, `assistant`, `tool`, … */
  readonly role: string;
  /** The text, a list of content parts, or null (an assistant turn with only tool calls). */
  readonly content?: string | readonly unknown[] | null;
  /** Anything else a template reads: `tool_calls`, `tool_call_id`, `name`, `reasoning_content`, … */
  readonly [field: string]: unknown;
}

/** Where the current time comes from for `strftime_now`: a fixed date, or a clock. */
export type ChatTemplateClock = Date | (() => Date);

/** Defaults fixed when a template is compiled; {@link ChatTemplateRenderOptions} overrides them per call. */
export interface ChatTemplateOptions {
  /** The tokenizer's BOS token text, given to templates as `bos_token`. */
  readonly bosToken?: string;
  /** The tokenizer's EOS token text, given to templates as `eos_token`. */
  readonly eosToken?: string;
  /** The clock behind `strftime_now` (default: the system clock, read in local time as Python does). */
  readonly now?: ChatTemplateClock;
  /** The render budget (range size, value and output sizes, nesting depth, steps); defaults suit any real template. */
  readonly limits?: ChatTemplateLimits;
}

/**
 * The inputs of one rendering. Keys beyond the named ones are passed to the template as variables under their own
 * names (`enable_thinking`, `documents`, `reasoning_effort`, …), as transformers' `apply_chat_template(**kwargs)` does.
 */
export interface ChatTemplateRenderOptions {
  /** The conversation. */
  readonly messages: readonly ChatMessage[];
  /** Appends the header that opens the assistant's turn (`add_generation_prompt`). Default false. */
  readonly addGenerationPrompt?: boolean;
  /** JSON-schema tool definitions (`tools`); left undefined in the template when absent. */
  readonly tools?: readonly unknown[] | null;
  /** Overrides the compiled-in `bos_token`. */
  readonly bosToken?: string;
  /** Overrides the compiled-in `eos_token`. */
  readonly eosToken?: string;
  /** Overrides the compiled-in clock. */
  readonly now?: ChatTemplateClock;
  /** Extra template variables. */
  readonly [variable: string]: unknown;
}

const NAMED_OPTIONS = new Set(['messages', 'addGenerationPrompt', 'tools', 'bosToken', 'eosToken', 'now']);

type Program = ReturnType<typeof parse>;

function pythonRange(args: JinjaValue[]): JinjaValue {
  const [positional] = splitArguments(args);
  const numbers = positional.map((value) => Number(value.value));
  const [start, stop, step] = numbers.length === 1 ? [0, numbers[0]!, 1] : [numbers[0]!, numbers[1]!, numbers[2] ?? 1];
  if (![start, stop, step].every(Number.isSafeInteger)) {
    throw new TemplateRuntimeError('TypeError', 'range() arguments must be integers');
  }
  if (step === 0) throw new TemplateRuntimeError('ValueError', 'range() arg 3 must not be zero');
  renderBudget().range(Math.max(0, Math.ceil((stop - start) / step)));
  const out: JinjaValue[] = [];
  for (let i = start; step > 0 ? i < stop : i > stop; i += step) out.push(int(i));
  return list(out);
}

function toStrataError(error: unknown): StrataError {
  if (StrataError.isInstance(error)) return error;
  const kind = error instanceof TemplateRuntimeError ? error.kind : 'TemplateError';
  const where = error instanceof TemplateRuntimeError ? error.where : undefined;
  const message = error instanceof Error ? error.message : String(error);
  const limit = (error as { limit?: unknown }).limit;
  // jinja2's own errors keep jinja2's text (templates and tests match on it); the engine's own failures and render
  // limits say where they happened in the message too.
  const engineFailure = limit !== undefined || (error instanceof TemplateRuntimeError && error.cause !== undefined);
  const located = where !== undefined && engineFailure ? `${message} (in ${where})` : message;
  return new StrataError('TEMPLATE_ERROR', located, {
    cause: error,
    details: { kind, ...(where === undefined ? {} : { where }), ...(limit === undefined ? {} : { limit }) },
  });
}

/**
 * A compiled chat template: compile once, render many times. Rendering follows Hugging Face transformers (jinja2,
 * immutable sandbox, `trim_blocks` and `lstrip_blocks`, loop controls, `raise_exception`, `strftime_now`, `tojson`
 * without ASCII escaping). A template that fails, including through `raise_exception(msg)`, throws
 * `StrataError('TEMPLATE_ERROR')` whose message is the template's own text; `details.kind` names the Python exception
 * jinja2 would raise (`TemplateError`, `UndefinedError`, `TypeError`, `SecurityError`, …).
 */
export class ChatTemplate {
  /** The template text. */
  readonly source: string;
  private readonly program: Program;
  private readonly defaults: ChatTemplateOptions;

  /** Compiles `source`; a syntax error throws `StrataError('TEMPLATE_ERROR')`. */
  constructor(source: string, options: ChatTemplateOptions = {}) {
    this.source = source;
    this.defaults = options;
    try {
      const tokens = tokenize(normalizeStringEscapes(source), { lstrip_blocks: true, trim_blocks: true });
      this.program = parse(rewriteTokens(tokens));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const where = locateSyntaxError(source);
      const located = where === undefined ? ' (check that every block is closed)' : ` (at ${where})`;
      throw new StrataError('TEMPLATE_ERROR', `The chat template does not compile: ${message}${located}`, {
        cause: error,
        details: { kind: 'TemplateSyntaxError', ...(where === undefined ? {} : { where }) },
      });
    }
  }

  /**
   * Renders the conversation to the prompt text. A failure, a render limit (see {@link ChatTemplateLimits}) included,
   * throws `StrataError('TEMPLATE_ERROR')` saying what went wrong and in which expression.
   */
  render(options: ChatTemplateRenderOptions): string {
    try {
      return withRenderBudget(new RenderBudget(this.defaults.limits), () => this.renderWithin(options));
    } catch (error) {
      throw toStrataError(error);
    }
  }

  private renderWithin(options: ChatTemplateRenderOptions): string {
    const clock = options.now ?? this.defaults.now ?? (() => new Date());
    const environment = new Environment();
    const define = (name: string, value: JinjaValue) => environment.variables.set(name, value as never);
    for (const [name, value] of [
      ['true', true],
      ['false', false],
      ['none', null],
      ['True', true],
      ['False', false],
      ['None', null],
    ] as const) {
      define(name, toJinja(value));
    }
    define('range', fn(pythonRange));
    define(
      'dict',
      fn((args) => {
        const [positional, keywords] = splitArguments(args);
        const base = positional[0];
        return dict(new Map([...(base !== undefined && is.object(base) ? base.value : []), ...keywords]));
      }),
    );
    define(
      'raise_exception',
      fn((args) => {
        throw new TemplateRuntimeError('TemplateError', args[0] === undefined ? '' : String(args[0].value));
      }),
    );
    define(
      'strftime_now',
      fn((args) => str(strftime(typeof clock === 'function' ? clock() : clock, String(args[0]?.value ?? '')))),
    );

    define('messages', toJinja(options.messages));
    define('add_generation_prompt', toJinja(options.addGenerationPrompt ?? false));
    if (options.tools !== undefined) define('tools', toJinja(options.tools));
    const bosToken = options.bosToken ?? this.defaults.bosToken;
    const eosToken = options.eosToken ?? this.defaults.eosToken;
    if (bosToken !== undefined) define('bos_token', str(bosToken));
    if (eosToken !== undefined) define('eos_token', str(eosToken));
    for (const [name, value] of Object.entries(options)) {
      if (!NAMED_OPTIONS.has(name)) define(name, toJinja(value));
    }

    const result = new ChatTemplateInterpreter(environment).run(this.program) as unknown as JinjaValue;
    const text = String(result.value);
    renderBudget().output(text.length);
    return text;
  }
}
