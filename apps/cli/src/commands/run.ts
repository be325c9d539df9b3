import { readFile } from 'node:fs/promises';
import { StrataError } from '@strata/core';
import type { Command, CommandOutput } from '../command.js';
import {
  checkGenerationFlags,
  generateOptionsOf,
  loadForCommand,
  parseGenerationArgs,
  SHARED_USAGE,
  statsLine,
} from './pipeline-setup.js';

const USAGE = `Usage: strata run MODEL (-p PROMPT | -f FILE) [--json] [options]

Generates a continuation of PROMPT, streaming the text to stdout; loading progress and stats go to stderr.
  MODEL                  a .gguf file or a Hugging Face model directory,
                         or a URL (http(s)://…, hf://owner/repo[/file.gguf]; cached in $STRATA_CACHE)
  -p, --prompt PROMPT    the prompt (BOS is added as the tokenizer declares)
  -f, --file FILE        read the prompt from FILE instead
  --json                 print one JSON object at the end instead of streaming: text, tokens, finishReason, stats,
                         backend
${SHARED_USAGE}
Exit codes: 0 done, 2 bad arguments (checked before the model loads), 1 other failures.`;

const parse = (argv: readonly string[]) =>
  parseGenerationArgs(argv, {
    prompt: { type: 'string', short: 'p' },
    file: { type: 'string', short: 'f' },
    json: { type: 'boolean' },
  });

/** The arguments of `strata run`, checked; or the message of a usage error. */
async function parseRun(
  argv: readonly string[],
): Promise<
  { parsed: ReturnType<typeof parse>; prompt: string; options: ReturnType<typeof generateOptionsOf> } | string
> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    return (error as Error).message;
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1 || (values.prompt === undefined) === (values.file === undefined)) {
    return 'give one MODEL and either -p PROMPT or -f FILE.';
  }
  let options: ReturnType<typeof generateOptionsOf>;
  try {
    options = generateOptionsOf(values);
    checkGenerationFlags(values, options);
  } catch (error) {
    if (!StrataError.isInstance(error)) throw error;
    return error.message;
  }
  if (values.prompt !== undefined) return { parsed, prompt: values.prompt, options };
  try {
    return { parsed, prompt: await readFile(values.file!, 'utf8'), options };
  } catch (error) {
    return `-f ${values.file}: cannot read the prompt file (${(error as NodeJS.ErrnoException).code ?? String(error)}).`;
  }
}

async function run(argv: readonly string[], output: CommandOutput): Promise<number> {
  const checked = await parseRun(argv);
  if (typeof checked === 'string') {
    output.error(`strata run: ${checked}\n${USAGE}\n`);
    return 2;
  }
  const { parsed, prompt, options } = checked;
  const { values, positionals } = parsed;
  const { pipeline, backendLabel, release } = await loadForCommand(positionals[0]!, values, output);
  const controller = new AbortController();
  const onInterrupt = () => controller.abort();
  process.once('SIGINT', onInterrupt);
  try {
    const generation = pipeline.generate(prompt, { ...options, signal: controller.signal });
    if (values.json === true) {
      const result = await generation.result;
      output.out(`${JSON.stringify({ ...result, backend: backendLabel })}\n`);
      return 0;
    }
    for await (const delta of generation) output.out(delta.text);
    const result = await generation.result;
    output.out('\n');
    output.error(`[${backendLabel}] ${statsLine(result.stats)} · stop: ${result.finishReason}\n`);
    return 0;
  } finally {
    process.off('SIGINT', onInterrupt);
    await release();
  }
}

/** `strata run MODEL -p PROMPT`: streams a generation to stdout (or prints it as JSON). */
export const runCommand: Command = {
  name: 'run',
  summary: 'generate text from a prompt, streamed to stdout',
  usage: USAGE,
  run,
};
