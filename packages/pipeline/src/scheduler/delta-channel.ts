import type { GenerationDelta } from '../generation/types.js';

type Waiter = (item: IteratorResult<GenerationDelta, undefined>) => void;

/**
 * An unbounded queue of deltas from the scheduler's step loop to one consumer. The loop pushes and closes (or fails);
 * the consumer iterates once. Nothing is lost: deltas pushed before the consumer starts are kept.
 */
export class DeltaChannel implements AsyncIterable<GenerationDelta> {
  private readonly items: GenerationDelta[] = [];
  private waiter: { resolve: Waiter; reject: (error: unknown) => void } | undefined;
  private closed = false;
  private error: { value: unknown } | undefined;

  /** Queues a delta (ignored after close). */
  push(delta: GenerationDelta): void {
    if (this.closed) return;
    if (this.waiter !== undefined) {
      const { resolve } = this.waiter;
      this.waiter = undefined;
      resolve({ value: delta, done: false });
    } else this.items.push(delta);
  }

  /** Ends the stream after the queued deltas; with `error`, the consumer sees it thrown after them. */
  close(error?: { value: unknown }): void {
    if (this.closed) return;
    this.closed = true;
    this.error = error;
    if (this.waiter !== undefined && this.items.length === 0) {
      const { resolve, reject } = this.waiter;
      this.waiter = undefined;
      if (error === undefined) resolve({ value: undefined, done: true });
      else reject(error.value);
    }
  }

  /** Whether {@link DeltaChannel.close} was called. */
  get isClosed(): boolean {
    return this.closed;
  }

  /** Yields the deltas in order, then ends (or throws the close error). */
  async *[Symbol.asyncIterator](): AsyncGenerator<GenerationDelta, void, undefined> {
    for (;;) {
      const item = this.items.shift();
      if (item !== undefined) {
        yield item;
        continue;
      }
      if (this.closed) {
        if (this.error !== undefined) throw this.error.value;
        return;
      }
      const next = await new Promise<IteratorResult<GenerationDelta, undefined>>((resolve, reject) => {
        this.waiter = { resolve, reject };
      });
      if (next.done === true) return;
      yield next.value;
    }
  }
}
