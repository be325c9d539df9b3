/** A small seeded PRNG (mulberry32): the same seed gives the same mutations, so every failure reproduces. */
export class Random {
  #state: number;
  constructor(seed: number) {
    this.#state = seed >>> 0;
  }
  /** A float in [0, 1). */
  next(): number {
    this.#state = (this.#state + 0x6d2b79f5) >>> 0;
    let t = this.#state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, bound). */
  below(bound: number): number {
    return Math.floor(this.next() * bound);
  }
  /** One element of a non-empty list. */
  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)] as T;
  }
}

const INTERESTING_64 = [
  0n,
  1n,
  2n,
  3n,
  4n,
  7n,
  8n,
  12n,
  13n,
  31n,
  32n,
  33n,
  64n,
  255n,
  256n,
  4096n,
  65535n,
  65536n,
  2n ** 31n - 1n,
  2n ** 31n,
  2n ** 32n - 1n,
  2n ** 32n,
  2n ** 53n,
  2n ** 53n + 1n,
  2n ** 62n,
  2n ** 63n - 1n,
  2n ** 63n,
  2n ** 64n - 1n,
];

/** A mutation of `input` in a region biased towards `hot` (the header): flips, interesting values, cuts, splices. */
export function mutate(input: Uint8Array, random: Random, hot: number, donors: readonly Uint8Array[]): Uint8Array {
  let result = input.slice();
  /** A position where `width` bytes fit, usually inside the first `hot` bytes. */
  const position = (width: number): number => {
    const region = random.next() < 0.85 ? Math.min(hot, result.byteLength) : result.byteLength;
    return Math.max(0, Math.min(random.below(Math.max(region, 1)), result.byteLength - width));
  };
  const steps = 1 + random.below(random.next() < 0.7 ? 2 : 8);
  for (let step = 0; step < steps && result.byteLength > 0; step++) {
    const choice = random.below(9);
    const view = new DataView(result.buffer, result.byteOffset, result.byteLength);
    if (choice === 0) {
      const at = position(1);
      result[at] = (result[at] ?? 0) ^ (1 << random.below(8));
    } else if (choice === 1) {
      result[position(1)] = random.pick([0, 1, 0x7f, 0x80, 0xff, random.below(256)]);
    } else if (choice === 2 && result.byteLength >= 4) {
      view.setUint32(
        position(4),
        random.pick([0, 1, 2, 3, 9, 12, 13, 31, 32, 39, 40, 99, 0x7fffffff, 0xffffffff]),
        true,
      );
    } else if (choice === 3 && result.byteLength >= 8) {
      view.setBigUint64(position(8), random.pick(INTERESTING_64), true);
    } else if (choice === 4 && result.byteLength >= 8) {
      view.setBigUint64(position(8), BigInt(Math.max(0, result.byteLength + random.below(64) - 32)), true);
    } else if (choice === 5) {
      result = result.slice(0, position(0));
    } else if (choice === 6) {
      const at = position(0);
      const length = Math.min(1 + random.below(64), result.byteLength - at);
      const copy = new Uint8Array(result.byteLength - length);
      copy.set(result.subarray(0, at));
      copy.set(result.subarray(at + length), at);
      result = copy;
    } else if (choice === 7) {
      const at = position(0);
      const from = position(0);
      const piece = result.slice(from, from + 1 + random.below(64));
      const copy = new Uint8Array(result.byteLength + piece.byteLength);
      copy.set(result.subarray(0, at));
      copy.set(piece, at);
      copy.set(result.subarray(at), at + piece.byteLength);
      result = copy;
    } else if (donors.length > 0) {
      const donor = random.pick(donors);
      const at = position(0);
      const length = Math.min(1 + random.below(256), donor.byteLength, result.byteLength - at);
      const from = random.below(Math.max(1, Math.min(donor.byteLength, hot) - length));
      result.set(donor.subarray(from, from + length), at);
    }
  }
  return result;
}

const JSON_VALUES: readonly unknown[] = [
  null,
  true,
  0,
  -1,
  1,
  1.5,
  3,
  2 ** 31,
  2 ** 32,
  2 ** 53,
  2 ** 53 + 2,
  1e300,
  -0,
  '',
  'F32',
  'BF16',
  'U8',
  'F4',
  'F33',
  [],
  [0],
  [0, 0],
  [1, 0],
  {},
  { a: 'b' },
  { a: 1 },
];

const DTYPE_VALUES: readonly string[] = [
  'F64',
  'F32',
  'F16',
  'BF16',
  'I64',
  'I8',
  'U8',
  'BOOL',
  'F8_E4M3',
  'F4',
  'F6_E2M3',
  'C64',
  'F33',
  'f32',
  'Q4_K',
  '',
  'toString',
  '__proto__',
];

/**
 * A structure-aware mutation of a safetensors file: the JSON header is parsed, one field of one entry is replaced by
 * an awkward value (wrong dtype, negative or huge dimensions, swapped or overlapping offsets, wrong types), and the file
 * is re-encoded with a correct (or, sometimes, a wrong) header length. Falls back to byte mutation when the header does
 * not parse.
 */
export function mutateSafetensorsJson(input: Uint8Array, random: Random): Uint8Array {
  if (input.byteLength < 8) return input.slice();
  const length = Number(new DataView(input.buffer, input.byteOffset, 8).getBigUint64(0, true));
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(input.subarray(8, 8 + length))) as Record<string, unknown>;
    if (typeof header !== 'object' || header === null || Array.isArray(header))
      return mutate(input, random, 8 + length, []);
  } catch {
    return mutate(input, random, 8 + length, []);
  }
  const data = input.subarray(8 + length);
  const names = Object.keys(header);
  const name = names.length > 0 ? random.pick(names) : 'x';
  const entry = header[name];
  const value = random.pick(JSON_VALUES);
  const choice = random.below(7);
  if (choice <= 2 && typeof entry === 'object' && entry !== null && !Array.isArray(entry)) {
    const fields = entry as Record<string, unknown>;
    const field = random.pick(['dtype', 'shape', 'data_offsets']);
    const current = fields[field];
    if (field === 'dtype' && choice === 0) fields.dtype = random.pick(DTYPE_VALUES);
    else if (Array.isArray(current) && current.length > 0 && choice === 0)
      current[random.below(current.length)] = value;
    else if (choice === 1) delete fields[field];
    else fields[field] = value;
  } else if (choice === 3) {
    header[name] = value;
  } else if (choice === 4) {
    header[`${name}.copy`] = JSON.parse(JSON.stringify(entry ?? null));
  } else if (choice === 5) {
    header.__metadata__ = value;
  } else {
    delete header[name];
  }
  const json = new TextEncoder().encode(JSON.stringify(header));
  const result = new Uint8Array(8 + json.byteLength + data.byteLength);
  const declared = random.next() < 0.9 ? json.byteLength : Math.max(0, json.byteLength + random.below(9) - 4);
  new DataView(result.buffer).setBigUint64(0, BigInt(declared), true);
  result.set(json, 8);
  result.set(data, 8 + json.byteLength);
  return result;
}
