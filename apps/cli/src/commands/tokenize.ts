import { readFile, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { StrataError } from '@strata/core';
import { isModelUrl, type Tokenizer, tokenizerFromGguf, tokenizerFromJson, tokenizerFromModel } from '@strata/loaders';
import { openGgufFile } from '@strata/loaders/node';
import type { Command, CommandOutput } from '../command.js';
import { openModelArgument } from './model-argument.js';

const USAGE = `Usage: strata tokenize MODEL TEXT... [--add-special] [--parse-special]
       strata tokenize MODEL --input TEXTS.json [--add-special] [--parse-special]

Tokenizes each TEXT and prints its ids as a JSON array, one line per TEXT; with --input, prints a JSON array of id
arrays for the texts of the file.
  MODEL              a .gguf file, a tokenizer.json (tokenizer_config.json and generation_config.json are read
                     from the same folder when present), a model directory holding tokenizer.json,
                     or a URL (http(s)://…, hf://owner/repo[/file.gguf]; cached in $STRATA_CACHE)
  TEXT               a text to tokenize (quote it in the shell)
  --input TEXTS.json a JSON array of strings
  --add-special      add BOS/EOS (or CLS/SEP) as the tokenizer declares
  --parse-special    recognise control tokens written in the text (<|im_start|>, <s>, …)
Exit codes: 0 done, 2 bad arguments, 1 other failures.`;

interface TokenizeArguments {
  readonly model: string;
  /** A JSON file of texts, or the texts themselves. */
  readonly input: string | { readonly texts: readonly string[] };
  readonly addSpecial: boolean;
  readonly parseSpecial: boolean;
}

function parseArguments(argv: readonly string[]): TokenizeArguments | string {
  const positional: string[] = [];
  let input: string | undefined;
  let addSpecial = false;
  let parseSpecial = false;
  for (let index = 0; index < argv.length; index++) {
    const argument = argv[index] as string;
    if (argument === '--input') {
      input = argv[++index];
      if (input === undefined) return '--input needs a value.';
    } else if (argument === '--add-special') addSpecial = true;
    else if (argument === '--parse-special') parseSpecial = true;
    else if (argument.startsWith('--')) return `unknown option ${argument}.`;
    else positional.push(argument);
  }
  if (positional.length === 0) return 'give a MODEL.';
  const [model, ...texts] = positional as [string, ...string[]];
  if (input !== undefined && texts.length > 0) return 'give either TEXT arguments or --input TEXTS.json, not both.';
  if (input === undefined && texts.length === 0) return 'give the TEXT to tokenize (or --input TEXTS.json).';
  return { model, input: input ?? { texts }, addSpecial, parseSpecial };
}

async function readJson(path: string, required: boolean): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (cause) {
    if (!required && (cause as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new StrataError('IO_ERROR', `Could not read ${path}.`, { cause, details: { path } });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new StrataError('INVALID_FILE', `${path} is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

/** Loads the tokenizer of a GGUF file, a tokenizer.json, or a model directory. */
async function loadTokenizer(model: string, output: CommandOutput): Promise<Tokenizer> {
  if (isModelUrl(model)) {
    const { files, completed } = await openModelArgument(model, output);
    await completed;
    return tokenizerFromModel(files);
  }
  let isDirectory: boolean;
  try {
    isDirectory = (await stat(model)).isDirectory();
  } catch (cause) {
    throw new StrataError('IO_ERROR', `Cannot open ${model}: it does not exist or is not readable.`, { cause });
  }
  if (isDirectory || model.endsWith('.json')) {
    const folder = isDirectory ? model : dirname(model);
    const tokenizerJson = await readJson(isDirectory ? join(model, 'tokenizer.json') : model, true);
    const config = (await readJson(join(folder, 'tokenizer_config.json'), false)) ?? {};
    const generation = (await readJson(join(folder, 'generation_config.json'), false)) ?? {};
    return tokenizerFromJson(tokenizerJson, config as never, generation as never);
  }
  return tokenizerFromGguf((await openGgufFile(model)).metadata);
}

async function run(argv: readonly string[], output: CommandOutput): Promise<number> {
  const parsed = parseArguments(argv);
  if (typeof parsed === 'string') {
    output.error(`strata tokenize: ${parsed}\n${USAGE}\n`);
    return 2;
  }
  const options = { addSpecial: parsed.addSpecial, parseSpecial: parsed.parseSpecial };
  if (typeof parsed.input !== 'string') {
    const tokenizer = await loadTokenizer(parsed.model, output);
    for (const text of parsed.input.texts) output.out(`${JSON.stringify(tokenizer.encode(text, options))}\n`);
    return 0;
  }
  const texts = await readJson(parsed.input, true);
  if (!Array.isArray(texts) || texts.some((text) => typeof text !== 'string')) {
    output.error(`strata tokenize: ${parsed.input} must hold a JSON array of strings.\n`);
    return 2;
  }
  const tokenizer = await loadTokenizer(parsed.model, output);
  const ids = (texts as string[]).map((text) => tokenizer.encode(text, options));
  output.out(`[${ids.map((row) => JSON.stringify(row)).join(',\n ')}]\n`);
  return 0;
}

/** `strata tokenize`: texts → token ids with a model's tokenizer. */
export const tokenizeCommand: Command = {
  name: 'tokenize',
  summary: 'Tokenize texts with a GGUF or tokenizer.json tokenizer; prints JSON ids',
  usage: USAGE,
  run,
};
