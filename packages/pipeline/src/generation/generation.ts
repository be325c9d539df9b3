import type { GenerationDelta, GenerationResult } from './types.js';

/** How a running generation hands its deltas to whoever iterates the {@link Generation}. */
export interface GenerationChannel {
  /**
   * Passes a delta on. While someone iterates, resolves once they asked for the next delta or after one turn of the
   * event loop, whichever comes first: a consumer that keeps up sees every step before the next one runs (so it can stop
   * it), and one that stops reading slows the generation by one turn per step but never holds it.
   */
  emit(delta: GenerationDelta): Promise<void>;
  /** Aborted when the consumer ends its loop early (`break`, `return()`): the generation stops as `aborted`. */
  readonly stopped: AbortSignal;
}

/** The work of a generation: runs on its own (queued by the pipeline) and resolves with the result. */
export type GenerationJob = (channel: GenerationChannel) => Promise<GenerationResult>;

interface Waiter {
  readonly resolve: (result: IteratorResult<GenerationDelta, undefined>) => void;
  readonly reject: (error: unknown) => void;
}

const DONE: IteratorResult<GenerationDelta, undefined> = { done: true, value: undefined };

/**
 * A running generation: iterate it for streamed deltas (`for await (const delta of generation)`), and await
 * {@link Generation.result} for the final text, tokens, finish reason and stats.
 *
 * The generation runs whether or not anyone iterates: the pipeline's request queue drives its steps, not the consumer's
 * reads, so a consumer that stops reading (or drops the iterator) never blocks other requests. Deltas not yet read are
 * buffered until the first iteration, unless `result` was asked for first. Iterate at most once; breaking out of the
 * loop stops the generation (`aborted`).
 */
export class Generation implements AsyncIterable<GenerationDelta> {
  private readonly buffer: GenerationDelta[] = [];
  private readonly waiters: Waiter[] = [];
  private readonly stop = new AbortController();
  private readonly outcome: Promise<GenerationResult>;
  private wakeProducer: (() => void) | undefined;
  private iterating = false;
  private iterated = false;
  private resultOnly = false;
  private ended = false;
  private failure: { readonly error: unknown } | undefined;

  /** Starts `job` at once (internal: obtain generations from `TextPipeline.generate`/`chat`). */
  constructor(job: GenerationJob) {
    this.outcome = job({ emit: (delta) => this.emit(delta), stopped: this.stop.signal });
    this.outcome.then(
      () => this.end(undefined),
      (error: unknown) => this.end({ error }),
    );
  }

  /**
   * The final result; resolves once the generation ends. Rejects with the error of a failed step. Asked for before
   * iterating, it means nobody will read the deltas: they are no longer kept, and iterating afterwards throws.
   */
  get result(): Promise<GenerationResult> {
    if (!this.iterated) {
      this.resultOnly = true;
      this.buffer.length = 0;
    }
    return this.outcome;
  }

  /** Waits for the end and returns the text. */
  async text(): Promise<string> {
    return (await this.result).text;
  }

  /**
   * Streams the deltas as the steps produce them (those produced before iteration began first). Ending the loop early
   * (`break`, `return()`) stops the generation and `result` resolves with finish reason `aborted`; the error of a failed
   * step rejects `result` and is thrown here after the deltas before it. Throws a plain `Error` when iterated twice, or
   * after `result` was asked for first.
   */
  [Symbol.asyncIterator](): AsyncIterator<GenerationDelta, undefined> {
    if (this.iterated) throw new Error('A Generation can be iterated only once; await .result for the outcome.');
    if (this.resultOnly) {
      throw new Error(
        'This Generation was awaited through .result before iterating; iterate first, then await .result.',
      );
    }
    this.iterated = true;
    this.iterating = true;
    return {
      next: () => this.next(),
      return: async () => {
        this.finishIteration();
        return DONE;
      },
    };
  }

  private next(): Promise<IteratorResult<GenerationDelta, undefined>> {
    const wake = this.wakeProducer;
    this.wakeProducer = undefined;
    try {
      const delta = this.buffer.shift();
      if (delta !== undefined) return Promise.resolve({ done: false, value: delta });
      if (!this.iterating) return Promise.resolve(DONE);
      if (this.ended) {
        this.iterating = false;
        return this.failure === undefined ? Promise.resolve(DONE) : Promise.reject(this.failure.error);
      }
      return new Promise((resolve, reject) => this.waiters.push({ resolve, reject }));
    } finally {
      wake?.();
    }
  }

  private emit(delta: GenerationDelta): Promise<void> {
    if (!this.iterating) {
      if (!this.iterated && !this.resultOnly) this.buffer.push(delta);
      return Promise.resolve();
    }
    const waiter = this.waiters.shift();
    if (waiter === undefined) this.buffer.push(delta);
    else waiter.resolve({ done: false, value: delta });
    return new Promise((resolve) => {
      const timer = setTimeout(() => wake(), 0);
      const wake = () => {
        clearTimeout(timer);
        if (this.wakeProducer === wake) this.wakeProducer = undefined;
        resolve();
      };
      this.wakeProducer = wake;
    });
  }

  /** The consumer is done: stop the generation if it still runs, drop what it did not read. */
  private finishIteration(): void {
    this.iterating = false;
    this.buffer.length = 0;
    if (!this.ended) this.stop.abort();
    for (const waiter of this.waiters.splice(0)) waiter.resolve(DONE);
    const wake = this.wakeProducer;
    this.wakeProducer = undefined;
    wake?.();
  }

  private end(failure: { readonly error: unknown } | undefined): void {
    this.ended = true;
    this.failure = failure;
    const waiters = this.waiters.splice(0);
    if (waiters.length > 0) this.iterating = false;
    for (const waiter of waiters) {
      if (failure === undefined) waiter.resolve(DONE);
      else waiter.reject(failure.error);
    }
  }
}
