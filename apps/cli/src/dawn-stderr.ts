import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/**
 * Dawn writes some warnings straight to the process's native stderr (lavapipe's oversized limits: "… artificially
 * reduced from 1000000 to 16 …"), out of Node's reach. When a command will open WebGPU in this process, the CLI runs
 * itself as a child whose stderr goes through {@link dawnNoiseFilter}; everything else passes through unchanged.
 */

/** Set in the child so it does not spawn again. */
const CHILD_MARK = 'STRATA_STDERR_FILTERED';
/** Tells the child that the real stderr is a terminal (its own stderr is a pipe). */
const TERMINAL_MARK = 'STRATA_STDERR_IS_TERMINAL';

/** A line Dawn prints on its own. */
const DAWN_NOISE = /^Warning: \S+ artificially reduced from \d+ to \d+/;
const NOISE_START = 'Warning: ';

/** A streaming filter: drops Dawn's own warning lines and passes everything else on at once (prompts included). */
export function dawnNoiseFilter(write: (text: string) => void): { push(chunk: string): void; end(): void } {
  // The start of a line that may still turn out to be Dawn's, held until its end arrives.
  let held = '';
  let atLineStart = true;
  return {
    push(chunk) {
      let text = held + chunk;
      held = '';
      while (text.length > 0) {
        const newline = text.indexOf('\n');
        const line = newline === -1 ? text : text.slice(0, newline + 1);
        text = newline === -1 ? '' : text.slice(newline + 1);
        if (atLineStart && newline === -1 && (NOISE_START.startsWith(line) || line.startsWith(NOISE_START))) {
          held = line;
          return;
        }
        if (!(atLineStart && DAWN_NOISE.test(line))) write(line);
        atLineStart = newline !== -1;
      }
    },
    end() {
      if (held.length > 0) write(held);
      held = '';
    },
  };
}

/** Whether stderr is a terminal, as seen by the user (through the parent when this process is the filtered child). */
export function stderrIsTerminal(): boolean {
  return process.stderr.isTTY === true || process.env[TERMINAL_MARK] === '1';
}

/** Whether `argv` (after the command name) opens WebGPU in this process: an explicit `--backend webgpu`. */
export function opensWebGpu(argv: readonly string[]): boolean {
  return argv.some(
    (argument, index) => argument === '--backend=webgpu' || (argument === '--backend' && argv[index + 1] === 'webgpu'),
  );
}

/** Whether this process should hand the command to a filtered child (not already one). */
export function needsFilteredChild(argv: readonly string[]): boolean {
  return process.env[CHILD_MARK] !== '1' && opensWebGpu(argv);
}

/**
 * Whether this process is attached to a terminal (any of stdin, stdout and stderr is one): then a Ctrl-C signals the
 * whole foreground process group, the filtered child included, and SIGINT must not be sent to it a second time.
 */
function attachedToTerminal(): boolean {
  return process.stdin.isTTY === true || process.stdout.isTTY === true || process.stderr.isTTY === true;
}

/**
 * Runs this CLI again as a child with the same arguments, its stdin and stdout inherited and its stderr filtered;
 * resolves to its exit code (128 + the signal's number when a signal ended it). SIGTERM is passed on to the child.
 * SIGINT is passed on too unless a terminal is attached: a terminal's Ctrl-C reaches the child by itself, while a
 * SIGINT from a supervisor or a load generator reaches only this process. Either way this process waits for the child.
 */
export function runFilteredChild(): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
    stdio: ['inherit', 'inherit', 'pipe'],
    env: { ...process.env, [CHILD_MARK]: '1', ...(process.stderr.isTTY === true ? { [TERMINAL_MARK]: '1' } : {}) },
  });
  const filter = dawnNoiseFilter((text) => process.stderr.write(text));
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk: string) => filter.push(chunk));
  const interactive = attachedToTerminal();
  const interrupt = () => {
    if (!interactive) child.kill('SIGINT');
  };
  const forward = () => child.kill('SIGTERM');
  process.on('SIGINT', interrupt);
  process.on('SIGTERM', forward);
  return new Promise((resolve) => {
    child.on('close', (code, signal) => {
      filter.end();
      process.off('SIGINT', interrupt);
      process.off('SIGTERM', forward);
      resolve(code ?? 128 + (signal === null ? 0 : constants.signals[signal]));
    });
  });
}
