import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { StrataError } from '@strata/core';
import {
  ChatTemplate,
  type ChatTemplateRenderOptions,
  isModelUrl,
  resolveChatTemplate,
  specialTokenText,
} from '@strata/loaders';
import type { Command, CommandOutput } from '../command.js';
import { openGgufArgument } from './model-argument.js';

const USAGE = `Usage: strata template MODEL_OR_TEMPLATE --input CASE.json [--now 2026-11-22T12:00:00] [--name NAME]

Renders a conversation with a chat template and prints the prompt exactly (no newline added).
  MODEL_OR_TEMPLATE  a .jinja file, a model directory (chat_template.jinja / tokenizer_config.json), a .gguf file
                     or a .gguf URL (http(s)://… or hf://owner/repo/file.gguf, through the cache)
  --input CASE.json  {"messages": [...], "add_generation_prompt": true, "tools"?: [...], "bos_token"?, "eos_token"?,
                     any other key: a template variable (enable_thinking, …)}
  --now DATE         the time strftime_now sees (ISO date-time, local time when no offset is given)
  --name NAME        picks a named template (tokenizer_config.json lists, GGUF tokenizer.chat_template.NAME)
Exit codes: 0 rendered, 2 bad arguments, 3 the template raised an error (message on stderr), 1 other failures.`;

/** A template with the special tokens its model defines. */
interface LoadedTemplate {
  readonly source: string;
  readonly bosToken?: string;
  readonly eosToken?: string;
}

interface TemplateArguments {
  readonly target: string;
  readonly input: string;
  readonly now?: Date;
  readonly name?: string;
}

function parseArguments(argv: readonly string[]): TemplateArguments | string {
  const positional: string[] = [];
  const options = new Map<string, string>();
  for (let i = 0; i < argv.length; i++) {
    const argument = argv[i]!;
    if (argument === '--input' || argument === '--now' || argument === '--name') {
      const value = argv[++i];
      if (value === undefined) return `${argument} needs a value.`;
      options.set(argument.slice(2), value);
    } else if (argument.startsWith('--')) return `unknown option ${argument}.`;
    else positional.push(argument);
  }
  if (positional.length !== 1) return 'give exactly one MODEL_OR_TEMPLATE.';
  const input = options.get('input');
  if (input === undefined) return '--input CASE.json is required.';
  const nowText = options.get('now');
  const now = nowText === undefined ? undefined : new Date(nowText);
  if (now !== undefined && Number.isNaN(now.getTime())) return `--now ${nowText} is not an ISO date-time.`;
  return { target: positional[0]!, input, now, name: options.get('name') };
}

async function readOptional(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StrataError('IO_ERROR', `Could not read ${path}.`, { cause: error });
  }
}

async function readJson(path: string): Promise<unknown> {
  const text = await readOptional(path);
  if (text === undefined) throw new StrataError('IO_ERROR', `${path} does not exist.`);
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new StrataError('INVALID_FILE', `${path} is not valid JSON: ${(error as Error).message}`, { cause: error });
  }
}

async function loadFromDirectory(path: string, name: string | undefined): Promise<LoadedTemplate> {
  const configText = await readOptional(join(path, 'tokenizer_config.json'));
  const tokenizerConfig = configText === undefined ? undefined : (JSON.parse(configText) as Record<string, unknown>);
  const resolved = resolveChatTemplate({
    chatTemplateJinja: await readOptional(join(path, 'chat_template.jinja')),
    tokenizerConfig,
    name,
  });
  return {
    source: resolved.source,
    bosToken: specialTokenText(tokenizerConfig?.bos_token),
    eosToken: specialTokenText(tokenizerConfig?.eos_token),
  };
}

async function loadFromGguf(path: string, name: string | undefined): Promise<LoadedTemplate> {
  const { metadata } = await openGgufArgument(path);
  const key = name === undefined ? 'tokenizer.chat_template' : `tokenizer.chat_template.${name}`;
  const resolved = resolveChatTemplate({ ggufTemplate: metadata.findString(key) });
  const tokens = metadata.findStringArray('tokenizer.ggml.tokens');
  const token = (idKey: string) => {
    const id = metadata.findInteger(idKey);
    return id === undefined ? undefined : tokens?.[id];
  };
  return {
    source: resolved.source,
    bosToken: token('tokenizer.ggml.bos_token_id'),
    eosToken: token('tokenizer.ggml.eos_token_id'),
  };
}

async function loadTemplate(target: string, name: string | undefined): Promise<LoadedTemplate> {
  if (isModelUrl(target)) return loadFromGguf(target, name);
  let info: Awaited<ReturnType<typeof stat>>;
  try {
    info = await stat(target);
  } catch (error) {
    throw new StrataError('IO_ERROR', `${target} does not exist: give a .jinja file, a model folder or a .gguf file.`, {
      cause: error,
    });
  }
  if (info.isDirectory()) return loadFromDirectory(target, name);
  if (target.toLowerCase().endsWith('.gguf')) return loadFromGguf(target, name);
  return { source: resolveChatTemplate({ explicit: await readFile(target, 'utf8') }).source };
}

function renderOptions(testCase: Record<string, unknown>, template: LoadedTemplate, now: Date | undefined) {
  const { messages, add_generation_prompt, tools, bos_token, eos_token, ...extra } = testCase;
  if (!Array.isArray(messages)) {
    throw new StrataError('INVALID_ARGUMENT', 'The --input file needs "messages": an array of {role, content}.');
  }
  const bosToken = typeof bos_token === 'string' ? bos_token : template.bosToken;
  const eosToken = typeof eos_token === 'string' ? eos_token : template.eosToken;
  return {
    ...extra,
    messages,
    addGenerationPrompt: add_generation_prompt === true,
    ...(tools === undefined ? {} : { tools: tools as unknown[] | null }),
    ...(bosToken === undefined ? {} : { bosToken }),
    ...(eosToken === undefined ? {} : { eosToken }),
    ...(now === undefined ? {} : { now }),
  } as ChatTemplateRenderOptions;
}

async function run(argv: readonly string[], output: CommandOutput): Promise<number> {
  const parsed = parseArguments(argv);
  if (typeof parsed === 'string') {
    output.error(`strata template: ${parsed}\n${USAGE}\n`);
    return 2;
  }
  const testCase = await readJson(parsed.input);
  if (typeof testCase !== 'object' || testCase === null || Array.isArray(testCase)) {
    throw new StrataError('INVALID_ARGUMENT', `${parsed.input} must hold a JSON object with "messages".`);
  }
  const loaded = await loadTemplate(parsed.target, parsed.name);
  try {
    const template = new ChatTemplate(loaded.source);
    output.out(template.render(renderOptions(testCase as Record<string, unknown>, loaded, parsed.now)));
    return 0;
  } catch (error) {
    if (StrataError.isInstance(error, 'TEMPLATE_ERROR')) {
      output.error(`${String(error.details.kind ?? 'TemplateError')}: ${error.message}\n`);
      return 3;
    }
    throw error;
  }
}

/** `strata template`: renders a conversation with a model's chat template, exactly as transformers would. */
export const templateCommand: Command = {
  name: 'template',
  summary: 'render a conversation with a chat template (.jinja, model folder or GGUF)',
  usage: USAGE,
  run,
};

export default templateCommand;
