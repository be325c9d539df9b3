/**
 * The requests of one sequence, run one after another in arrival order. A request is a job the queue itself runs to
 * completion: nothing outside the job (a consumer that stops reading, a dropped iterator) can hold the queue, so a
 * later request waits only for the work of earlier ones, never for their callers.
 */
export class RequestQueue {
  private tail: Promise<void> = Promise.resolve();
  private count = 0;

  /** Requests waiting or running. */
  get pending(): number {
    return this.count;
  }

  /** Queues `job`; it starts once every earlier job has settled. Resolves or rejects with the job's outcome. */
  run<T>(job: () => Promise<T>): Promise<T> {
    this.count++;
    const outcome = this.tail.then(job);
    this.tail = outcome.then(
      () => {
        this.count--;
      },
      () => {
        this.count--;
      },
    );
    return outcome;
  }
}
