/** A small seeded generator (mulberry32): the same seed gives the same inputs on every backend and every run. */
export class SeededRandom {
  private state: number;

  /** Seeds from a number or from a string (hashed), e.g. the name of a test case. */
  constructor(seed: number | string) {
    this.state = typeof seed === 'number' ? seed >>> 0 : hashString(seed);
  }

  /** A uniform number in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** A uniform number in [low, high). */
  uniform(low: number, high: number): number {
    return low + (high - low) * this.next();
  }

  /** A uniform integer in [0, bound). */
  integer(bound: number): number {
    return Math.floor(this.next() * bound);
  }

  /** `count` uniform f32 values in [low, high). */
  floats(count: number, low = -1, high = 1): Float32Array {
    const values = new Float32Array(count);
    for (let index = 0; index < count; index++) values[index] = this.uniform(low, high);
    return values;
  }

  /** `count` uniform bytes. */
  bytes(count: number): Uint8Array {
    const values = new Uint8Array(count);
    for (let index = 0; index < count; index++) values[index] = this.integer(256);
    return values;
  }
}

/** FNV-1a hash of a string, the seed of a named case. */
function hashString(text: string): number {
  let hash = 0x811c9dc5;
  for (let index = 0; index < text.length; index++) {
    hash ^= text.charCodeAt(index);
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}
