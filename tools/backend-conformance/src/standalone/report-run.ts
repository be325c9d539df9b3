import { describeError, type RunSummary, type TestRegistry } from './test-registry.js';

/** Options of {@link reportRun}. */
export interface ReportOptions {
  /** Runs only the tests whose full name (`suite > … > test`, as printed) matches. */
  readonly filter?: RegExp;
  /** Limit of each test and hook, in milliseconds. */
  readonly timeoutMilliseconds: number;
  /** Prints the selected names instead of running them (no hook runs). */
  readonly list?: boolean;
  /** Writes one line (no trailing newline); `console.log` by default. */
  readonly write?: (line: string) => void;
}

/** Thrown values that are assertion failures: their message says it all, so no stack is printed. */
function isAssertion(error: unknown): boolean {
  return error instanceof Error && (error.name === 'AssertionError' || error.name === 'JestExtendError');
}

/** The lines under a failure: the rest of the message, then a few stack frames unless it is an assertion. */
function detailLines(error: unknown): string[] {
  const lines = describeError(error).split('\n').slice(1);
  if (error instanceof Error && !isAssertion(error) && error.stack !== undefined) {
    lines.push(
      ...error.stack
        .split('\n')
        .filter((line) => line.trimStart().startsWith('at '))
        .slice(0, 8),
    );
  }
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause !== undefined && !isAssertion(error)) lines.push(`cause: ${describeError(cause)}`);
  return lines.map((line) => `      ${line.trim()}`);
}

/**
 * Runs (or lists) a registry's tests and prints one line per test, `PASS  name (ms)` or
 * `FAIL  name (ms): Error: message` (further message lines and, for errors other than assertions, stack frames
 * indented below), `ERROR afterAll …` for a hook that threw, and a summary line
 * `N passed, N failed, N total, S s`. Returns the exit code: 0 when every selected test passed, 1 on any failure or
 * hook error, 2 when the filter selects nothing.
 */
export async function reportRun(registry: TestRegistry, options: ReportOptions): Promise<number> {
  const write = options.write ?? ((line: string) => console.log(line));
  const names = registry.list(options.filter);
  if (names.length === 0) {
    write(`no test selected${options.filter === undefined ? '' : ` by ${options.filter}`}`);
    return 2;
  }
  if (options.list === true) {
    for (const name of names) write(name);
    write(`${names.length} tests`);
    return 0;
  }
  const summary: RunSummary = await registry.run({
    ...(options.filter === undefined ? {} : { filter: options.filter }),
    timeoutMilliseconds: options.timeoutMilliseconds,
    onResult: (result) => {
      const time = `(${Math.round(result.milliseconds)} ms)`;
      if (result.status === 'passed') {
        write(`PASS  ${result.name} ${time}`);
        return;
      }
      write(`FAIL  ${result.name} ${time}: ${describeError(result.error).split('\n')[0]}`);
      for (const line of detailLines(result.error)) write(line);
    },
    onHookError: (hookError) => {
      write(`ERROR ${hookError.name}: ${describeError(hookError.error).split('\n')[0]}`);
      for (const line of detailLines(hookError.error)) write(line);
    },
  });
  const hookErrors = summary.hookErrors.length > 0 ? `, ${summary.hookErrors.length} hook errors` : '';
  write(
    `${summary.passed} passed, ${summary.failed} failed, ${summary.total} total${hookErrors}, ${summary.seconds.toFixed(1)} s`,
  );
  return summary.failed > 0 || summary.hookErrors.length > 0 ? 1 : 0;
}
