import { StrataError } from '@strata/core';
import type { CommandOutput } from './command.js';
import { COMMANDS } from './commands/index.js';
import { needsFilteredChild, runFilteredChild, stderrIsTerminal } from './dawn-stderr.js';
import { cliVersion } from './version.js';

const output: CommandOutput = {
  out: (text) => process.stdout.write(text),
  error: (text) => process.stderr.write(text),
  errorIsTerminal: stderrIsTerminal(),
};

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (name === '--version' || name === '-V' || name === 'version') {
    output.out(`strata ${cliVersion()}\n`);
    return 0;
  }
  if (name === undefined || name === '--help' || name === '-h' || name === 'help') {
    const lines = await Promise.all(Object.values(COMMANDS).map(async (load) => load()));
    output.out(
      `strata — LLM inference on WebGPU\n\nUsage: strata <command> [options]   (strata --version prints the version)\n\nCommands:\n`,
    );
    for (const command of lines) output.out(`  ${command.name.padEnd(10)} ${command.summary}\n`);
    return name === undefined ? 1 : 0;
  }
  const load = COMMANDS[name];
  if (load === undefined) {
    output.error(`strata: unknown command '${name}'. Run 'strata --help' for the list.\n`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    output.out(`${command.usage}\n`);
    return 0;
  }
  // WebGPU opened in this process would let Dawn's native warnings reach the terminal: run filtered instead.
  if (needsFilteredChild(rest)) return runFilteredChild();
  return command.run(rest, output);
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    if (StrataError.isInstance(error)) {
      process.stderr.write(`strata: ${error.message} [${error.code}]\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(
        `strata: unexpected failure: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}\n`,
      );
      process.exitCode = 70;
    }
  },
);
