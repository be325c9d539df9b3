/** A first-come, first-served lock: requests on one sequence run one after another, never interleaved. */
export class Mutex {
  private tail: Promise<void> = Promise.resolve();
  private waiting = 0;

  /** Requests waiting or running. */
  get pending(): number {
    return this.waiting;
  }

  /** Resolves when the caller holds the lock; call the returned function once to release it. */
  acquire(): Promise<() => void> {
    this.waiting++;
    let release!: () => void;
    const held = new Promise<void>((resolve) => {
      release = () => {
        this.waiting--;
        resolve();
      };
    });
    const ready = this.tail.then(() => release);
    this.tail = this.tail.then(() => held);
    return ready;
  }
}
