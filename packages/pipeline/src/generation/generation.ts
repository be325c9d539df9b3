import type { GenerationDelta, GenerationResult } from './types.js';

/** The steps of a generation; they call `finish` exactly once, also when stopped early (`return()`), then end. */
export type GenerationSteps = (finish: (result: GenerationResult) => void) => AsyncGenerator<GenerationDelta, void>;

/**
 * A running generation: iterate it for streamed deltas (`for await (const delta of generation)`), and await
 * {@link Generation.result} for the final text, tokens, finish reason and stats. Awaiting the result without iterating
 * runs the generation to the end. Iterate at most once; breaking out of the loop stops the generation (`aborted`).
 */
export class Generation implements AsyncIterable<GenerationDelta> {
  private readonly steps: AsyncGenerator<GenerationDelta, void>;
  private started = false;
  private draining: Promise<void> | undefined;
  private resolveResult!: (result: GenerationResult) => void;
  private rejectResult!: (error: unknown) => void;
  private readonly outcome: Promise<GenerationResult>;

  /** Wraps the pipeline's steps (internal: obtain generations from `TextPipeline.generate`/`chat`). */
  constructor(steps: GenerationSteps) {
    this.outcome = new Promise((resolve, reject) => {
      this.resolveResult = resolve;
      this.rejectResult = reject;
    });
    // A failure nobody awaits through `result` must not crash the process; the iterating caller still sees it thrown.
    this.outcome.catch(() => {});
    this.steps = steps((result) => this.resolveResult(result));
  }

  /** The final result; resolves once the generation ends (running it to the end if nobody iterates). */
  get result(): Promise<GenerationResult> {
    if (!this.started) {
      this.draining ??= (async () => {
        for await (const _ of this) {
          // drained for the result
        }
      })().catch(() => {});
    }
    return this.outcome;
  }

  /** Runs to the end and returns the text. */
  async text(): Promise<string> {
    return (await this.result).text;
  }

  /**
   * Streams the deltas as the steps produce them. Ending the loop early (`break`, `return`) stops the generation and
   * `result` resolves with finish reason `aborted`; an error of a step rejects `result` and is rethrown here. Throws a
   * plain `Error` when iterated a second time, or after `result` has started draining it.
   */
  async *[Symbol.asyncIterator](): AsyncGenerator<GenerationDelta, void, undefined> {
    if (this.started) throw new Error('A Generation can be iterated only once; await .result for the outcome.');
    this.started = true;
    try {
      yield* this.steps;
    } catch (error) {
      this.rejectResult(error);
      throw error;
    }
  }
}
