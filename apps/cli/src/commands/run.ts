import { StrataError } from '@strata/core';
import type { Command, CommandOutput } from '../command.js';
import {
  cacheTypeOption,
  generateOptionsOf,
  loadForCommand,
  parseGenerationArgs,
  SHARED_USAGE,
  statsLine,
} from './pipeline-setup.js';

const USAGE = `Usage: strata run MODEL -p PROMPT [options]

Generates a continuation of PROMPT, streaming the text to stdout; loading progress and stats go to stderr.
  MODEL                  a .gguf file or a Hugging Face model directory,
                         or a URL (http(s)://…, hf://owner/repo[/file.gguf]; cached in $STRATA_CACHE)
  -p, --prompt PROMPT    the prompt (BOS is added as the tokenizer declares)
${SHARED_USAGE}
Exit codes: 0 done, 2 bad arguments, 1 other failures.`;

async function run(argv: readonly string[], output: CommandOutput): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  try {
    parsed = parse(argv);
  } catch (error) {
    output.error(`strata run: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1 || values.prompt === undefined) {
    output.error(`strata run: give one MODEL and -p PROMPT.\n${USAGE}\n`);
    return 2;
  }
  let options: ReturnType<typeof generateOptionsOf>;
  try {
    options = generateOptionsOf(values);
    cacheTypeOption(values);
  } catch (error) {
    if (!StrataError.isInstance(error)) throw error;
    output.error(`strata run: ${error.message}\n`);
    return 2;
  }
  const { pipeline, backendName, release } = await loadForCommand(positionals[0]!, values, output);
  const controller = new AbortController();
  const onInterrupt = () => controller.abort();
  process.once('SIGINT', onInterrupt);
  try {
    const generation = pipeline.generate(values.prompt, { ...options, signal: controller.signal });
    for await (const delta of generation) output.out(delta.text);
    const result = await generation.result;
    output.out('\n');
    output.error(`[${backendName}] ${statsLine(result.stats)} · stop: ${result.finishReason}\n`);
    return 0;
  } finally {
    process.off('SIGINT', onInterrupt);
    await release();
  }
}

const parse = (argv: readonly string[]) => parseGenerationArgs(argv, { prompt: { type: 'string', short: 'p' } });

/** `strata run MODEL -p PROMPT`: streams a generation to stdout. */
export const runCommand: Command = {
  name: 'run',
  summary: 'generate text from a prompt, streamed to stdout',
  usage: USAGE,
  run,
};
