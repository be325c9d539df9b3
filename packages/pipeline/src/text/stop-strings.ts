/** Result of {@link StopStringMatcher.push}. */
export interface StopMatch {
  /** Text safe to show now. */
  readonly text: string;
  /** The stop string found, when one completed (the text before it is in `text`; it and anything after are dropped). */
  readonly stop?: string;
}

/**
 * Finds stop strings in streamed text, even when they span several tokens. Text that could be the start of a stop
 * string is held back until it is known not to be one, so a stop string is never shown.
 */
export class StopStringMatcher {
  private pending = '';
  private readonly longest: number;

  constructor(private readonly stops: readonly string[]) {
    this.stops = stops.filter((stop) => stop.length > 0);
    this.longest = Math.max(0, ...this.stops.map((stop) => stop.length));
  }

  /** Adds a text delta; returns what may be shown and whether a stop string completed. */
  push(text: string): StopMatch {
    if (this.stops.length === 0) return { text };
    this.pending += text;
    let first = -1;
    let found: string | undefined;
    for (const stop of this.stops) {
      const index = this.pending.indexOf(stop);
      if (index >= 0 && (first < 0 || index < first)) {
        first = index;
        found = stop;
      }
    }
    if (found !== undefined) {
      const shown = this.pending.slice(0, first);
      this.pending = '';
      return { text: shown, stop: found };
    }
    const hold = this.heldBackLength();
    const shown = this.pending.slice(0, this.pending.length - hold);
    this.pending = this.pending.slice(this.pending.length - hold);
    return { text: shown };
  }

  /** Releases held-back text at the end of a generation. */
  flush(): string {
    const rest = this.pending;
    this.pending = '';
    return rest;
  }

  /** Length of the longest suffix of the pending text that is a proper prefix of some stop string. */
  private heldBackLength(): number {
    const limit = Math.min(this.longest - 1, this.pending.length);
    for (let length = limit; length > 0; length--) {
      const suffix = this.pending.slice(this.pending.length - length);
      if (this.stops.some((stop) => stop.startsWith(suffix))) return length;
    }
    return 0;
  }
}
