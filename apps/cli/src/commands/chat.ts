import { createInterface, type Interface } from 'node:readline/promises';
import { StrataError } from '@strata/core';
import type { ChatMessage, ContextOverflow } from '@strata/pipeline';
import type { Command, CommandOutput } from '../command.js';
import {
  checkGenerationFlags,
  generateOptionsOf,
  numberOption,
  loadForCommand,
  parseGenerationArgs,
  SHARED_USAGE,
  statsLine,
} from './pipeline-setup.js';

const USAGE = `Usage: strata chat MODEL [--system TEXT] [options]

Interactive chat using the model's chat template. Each turn reuses the cached conversation.
Type /help for the chat commands, /reset to start over, /exit (or Ctrl-D) to leave; Ctrl-C stops the reply being written.
When the conversation outgrows the context (-c), the oldest turns are left out (the system message stays).
  MODEL                  a .gguf file or a Hugging Face model directory,
                         or a URL (http(s)://…, hf://owner/repo[/file.gguf]; cached in $STRATA_CACHE)
  --system TEXT          a system message
  --stats                print generation stats after each reply (stderr)
  --context-overflow drop|shift|error
                         when the conversation outgrows the context: drop the oldest turns (default), shift as
                         llama.cpp (keep the first --keep tokens, drop the oldest after them), or stop with an error
  --keep N               tokens kept from the start of the conversation by --context-overflow shift (default 0)
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
  let contextOverflow: ContextOverflow;
  try {
    parsed = parse(argv);
    options = generateOptionsOf(parsed.values);
    checkGenerationFlags(parsed.values, options);
    contextOverflow = contextOverflowOf(parsed.values);
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
  const { pipeline, backendLabel, release } = await loadForCommand(positionals[0]!, values, output);
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
      const command = line?.trim();
      if (command === undefined || command === '/exit' || command === '/quit') break;
      if (command === '/help') {
        output.error(CHAT_HELP);
        continue;
      }
      if (command === '/reset') {
        messages = start.slice();
        await pipeline.reset();
        output.error('[conversation reset]\n');
        continue;
      }
      if (command === '') continue;
      messages.push({ role: 'user', content: line! });
      controller = new AbortController();
      let generation: ReturnType<typeof pipeline.chat>;
      try {
        generation = pipeline.chat(messages, { ...options, signal: controller.signal, contextOverflow });
      } catch (error) {
        if (!StrataError.isInstance(error, 'CONTEXT_OVERFLOW')) throw error;
        // Only this message is lost: the conversation goes on.
        messages.pop();
        controller = undefined;
        output.error(`strata chat: ${overflowMessage(error, pipeline.contextLength)}\n`);
        continue;
      }
      for await (const delta of generation) output.out(delta.text);
      const result = await generation.result;
      output.out('\n');
      if (result.finishReason === 'aborted') output.error('[stopped]\n');
      if (result.finishReason === 'context-full')
        output.error('[the context is full: the reply was cut; raise --ctx]\n');
      if (values.stats === true) output.error(`[${backendLabel}] ${statsLine(result.stats)}\n`);
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

const CHAT_HELP = `Chat commands (anything else is sent to the model):
  /help    this list
  /reset   forget the conversation (the system message stays)
  /exit    leave (also /quit, Ctrl-D)
Ctrl-C stops the reply being written.
`;

/** The message of a chat turn that cannot fit, naming the flag that makes room. */
function overflowMessage(error: StrataError, contextLength: number): string {
  const tokens = (error.details as { promptTokens?: unknown }).promptTokens;
  const size = typeof tokens === 'number' ? `${tokens} tokens` : 'too many tokens';
  return `this message needs ${size} but the context holds ${contextLength}; start again with a larger --ctx (-c) or send a shorter message. The conversation so far is kept.`;
}

/** `--context-overflow` and `--keep` as a pipeline policy; `INVALID_ARGUMENT` naming the flag otherwise. */
function contextOverflowOf(values: Record<string, unknown>): ContextOverflow {
  const policy = values['context-overflow'] ?? 'drop';
  const keep = numberOption(values, 'keep');
  if (keep !== undefined && policy !== 'shift') {
    throw new StrataError('INVALID_ARGUMENT', '--keep N goes with --context-overflow shift.');
  }
  if (policy === 'drop') return 'drop-oldest-turns';
  if (policy === 'error') return 'error';
  if (policy === 'shift') {
    if (keep !== undefined && !(Number.isInteger(keep) && keep >= 0)) {
      throw new StrataError('INVALID_ARGUMENT', `--keep ${keep}: give an integer ≥ 0.`);
    }
    return { strategy: 'shift', keep: keep ?? 0 };
  }
  throw new StrataError('INVALID_ARGUMENT', `--context-overflow ${String(policy)}: choose drop, shift or error.`);
}

const parse = (argv: readonly string[]) =>
  parseGenerationArgs(argv, {
    system: { type: 'string' },
    stats: { type: 'boolean' },
    'context-overflow': { type: 'string' },
    keep: { type: 'string' },
  });

/** `strata chat MODEL`: an interactive chat using the model's template. */
export const chatCommand: Command = {
  name: 'chat',
  summary: 'interactive chat with a model (its chat template)',
  usage: USAGE,
  run: (argv, output) => runChat(argv, output),
};
