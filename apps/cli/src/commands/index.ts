import type { Command } from '../command.js';

/**
 * Every command, loaded lazily so `strata inspect` does not load WebGPU. Add a command by adding a file under
 * `commands/` and one line here.
 */
export const COMMANDS: Readonly<Record<string, () => Promise<Command>>> = {
  inspect: async () => (await import('./inspect.js')).inspectCommand,
  template: async () => (await import('./template.js')).templateCommand,
  tokenize: async () => (await import('./tokenize.js')).tokenizeCommand,
  bench: async () => (await import('./bench.js')).benchCommand,
  chat: async () => (await import('./chat.js')).chatCommand,
  run: async () => (await import('./run.js')).runCommand,
  logits: async () => (await import('./logits.js')).logitsCommand,
  serve: async () => (await import('./serve.js')).serveCommand,
  cache: async () => (await import('./cache.js')).cacheCommand,
  embed: async () => (await import('./embed.js')).embedCommand,
};
