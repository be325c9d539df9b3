import { createInterface, type Interface } from 'node:readline/promises';
import { StrataError } from '@strata/core';
import type { ChatMessage } from '@strata/pipeline';
import type { Command, CommandOutput } from '../command.js';
import {
  cacheTypeOption,
  generateOptionsOf,
  loadForCommand,
  parseGenerationArgs,
  SHARED_USAGE,
  statsLine,
} from './pipeline-setup.js';

const USAGE = `Usage: strata chat MODEL [--system TEXT] [options]

Interactive chat using the model's chat template. Each turn reuses the cached conversation.
Type /reset to start over, /exit (or Ctrl-D) to leave; Ctrl-C stops the reply being written.
  MODEL                  a .gguf file or a Hugging Face model directory,
                         or a URL (http(s)://…, hf://owner/repo[/file.gguf]; cached in $STRATA_CACHE)
  --system TEXT          a system message
  --stats                print generation stats after each reply (stderr)
${SHARED_USAGE}
Exit codes: 0 done, 2 bad arguments, 1 other failures.`;

/** Where the conversation is read from (readline in a terminal; tests pass lines). */
export interface ChatInput {
  /** The next line, or undefined at the end of input. */
  question(prompt: string): Promise<string | undefined>;
  close(): void;
}

function terminalInput(): ChatInput & { readline: Interface } {
  const readline = createInterface({ input: process.stdin, output: process.stderr, terminal: process.stdin.isTTY });
  // The line iterator buffers lines that arrive while a reply is being written (piped input).
  const lines = readline[Symbol.asyncIterator]();
  return {
    readline,
    async question(prompt) {
      process.stderr.write(prompt);
      const next = await lines.next();
      return next.done === true ? undefined : next.value;
    },
    close: () => readline.close(),
  };
}

/** Runs the chat loop; `input` defaults to the terminal. */
export async function runChat(argv: readonly string[], output: CommandOutput, input?: ChatInput): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  let options: ReturnType<typeof generateOptionsOf>;
  try {
    parsed = parse(argv);
    options = generateOptionsOf(parsed.values);
    cacheTypeOption(parsed.values);
  } catch (error) {
    if (StrataError.isInstance(error) || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      output.error(`strata chat: ${(error as Error).message}\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  const { values, positionals } = parsed;
  if (positionals.length !== 1) {
    output.error(`strata chat: give one MODEL.\n${USAGE}\n`);
    return 2;
  }
  const { pipeline, release } = await loadForCommand(positionals[0]!, values, output);
  const lines = input ?? terminalInput();
  const start: ChatMessage[] = values.system === undefined ? [] : [{ role: 'system', content: values.system }];
  let messages = start.slice();
  let controller: AbortController | undefined;
  // Ctrl-C stops the reply being written; at the prompt it ends the chat.
  const onInterrupt = () => (controller === undefined ? lines.close() : controller.abort());
  if (input === undefined) (lines as ReturnType<typeof terminalInput>).readline.on('SIGINT', onInterrupt);
  process.on('SIGINT', onInterrupt);
  try {
    pipeline.renderChat([{ role: 'user', content: 'x' }]); // fails early (TEMPLATE_NOT_FOUND) without a template
    while (true) {
      const line = await lines.question('> ');
      if (line === undefined || line.trim() === '/exit') break;
      if (line.trim() === '/reset') {
        messages = start.slice();
        await pipeline.reset();
        continue;
      }
      if (line.trim() === '') continue;
      messages.push({ role: 'user', content: line });
      controller = new AbortController();
      const generation = pipeline.chat(messages, { ...options, signal: controller.signal });
      for await (const delta of generation) output.out(delta.text);
      const result = await generation.result;
      output.out('\n');
      if (result.finishReason === 'aborted') output.error('[stopped]\n');
      if (values.stats === true) output.error(`${statsLine(result.stats)}\n`);
      messages.push({ role: 'assistant', content: result.text });
      controller = undefined;
    }
    return 0;
  } finally {
    process.off('SIGINT', onInterrupt);
    lines.close();
    await release();
  }
}

const parse = (argv: readonly string[]) =>
  parseGenerationArgs(argv, { system: { type: 'string' }, stats: { type: 'boolean' } });

/** `strata chat MODEL`: an interactive chat using the model's template. */
export const chatCommand: Command = {
  name: 'chat',
  summary: 'interactive chat with a model (its chat template)',
  usage: USAGE,
  run: (argv, output) => runChat(argv, output),
};
