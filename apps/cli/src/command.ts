/** Where a command writes: stdout for results, stderr for progress and diagnostics. */
export interface CommandOutput {
  /** Writes to standard output (results a script may parse). */
  readonly out: (text: string) => void;
  /** Writes to standard error (progress, stats, diagnostics). */
  readonly error: (text: string) => void;
  /** True when standard error is a terminal (progress is then redrawn in place; otherwise printed once). */
  readonly errorIsTerminal?: boolean;
}

/** One `strata` sub-command. */
export interface Command {
  /** The word after `strata`. */
  readonly name: string;
  /** One line for `strata --help`. */
  readonly summary: string;
  /** The usage line(s) printed by `strata NAME --help` and on bad arguments. */
  readonly usage: string;
  /** Runs the command with the arguments after its name; resolves to the process exit code. */
  run(argv: readonly string[], output: CommandOutput): Promise<number>;
}
