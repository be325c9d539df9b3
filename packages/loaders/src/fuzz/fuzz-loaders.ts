import { StrataError } from '@strata/core';
import { type ByteSource, bytesSource } from '../byte-source/byte-source.js';
import { openGguf } from '../gguf/gguf-file.js';
import { openSafetensors } from '../safetensors/safetensors.js';
import { mutate, mutateSafetensorsJson, Random } from './mutate.js';

/** One input the fuzzer starts from. */
export interface FuzzSeed {
  /** A name for reports. */
  readonly name: string;
  /** The bytes. */
  readonly bytes: Uint8Array;
  /** How many leading bytes are header (mutations favour them). */
  readonly headerBytes: number;
  /** The format, for structure-aware mutations (safetensors JSON headers). */
  readonly format: 'gguf' | 'safetensors';
}

/** Options of {@link fuzzLoaders}. */
export interface FuzzOptions {
  /** PRNG seed. */
  readonly seed: number;
  /** Stop after this many inputs... */
  readonly iterations?: number;
  /** ...or after this many milliseconds, whichever comes first. */
  readonly milliseconds?: number;
  /** Slowest acceptable single input, in milliseconds (a hang guard). */
  readonly slowMilliseconds?: number;
}

/** A failure: an input that raised something other than a StrataError, read too much, or took too long. */
export interface FuzzFailure {
  /** The zero-based iteration that produced the input (reproducible with the same seed and options). */
  readonly iteration: number;
  /** Name of the seed the input was mutated from. */
  readonly seedName: string;
  /** What went wrong: the foreign error, the bytes read, or the time taken. */
  readonly reason: string;
  /** The mutated input itself, to save as a regression case. */
  readonly input: Uint8Array;
}

/** What a fuzzing run did. */
export interface FuzzReport {
  /** Inputs tried. */
  readonly iterations: number;
  /** Inputs that both readers got through without any error (the other inputs raised StrataErrors). */
  readonly accepted: number;
  /** How many StrataErrors each error code accounted for, over all inputs. */
  readonly rejectedByCode: Readonly<Record<string, number>>;
  /** The inputs that broke a rule; empty on a clean run. */
  readonly failures: readonly FuzzFailure[];
}

/** Opens `input` as GGUF and as safetensors, reads every tensor and some metadata; returns the bytes read. */
async function exercise(input: Uint8Array): Promise<{ bytesRead: number; accepted: boolean; codes: string[] }> {
  let bytesRead = 0;
  const inner = bytesSource(input, 'fuzz');
  const source: ByteSource = {
    name: inner.name,
    byteLength: inner.byteLength,
    read: (offset, length) => {
      bytesRead += length;
      return inner.read(offset, length);
    },
  };
  let accepted = false;
  const codes: string[] = [];
  for (const open of [openGguf, openSafetensors] as const) {
    try {
      const opened = await open(source);
      for (const name of opened.tensors.tensors.keys()) await opened.tensors.readBytes(name);
      if ('metadata' in opened) {
        for (const key of opened.metadata.keys()) {
          for (const kind of ['string', 'u32', 'numberArray', 'stringArray'] as const) {
            try {
              opened.metadata.find(key, kind);
            } catch (error) {
              if (!StrataError.isInstance(error)) throw error;
            }
          }
        }
      }
      accepted = true;
    } catch (error) {
      if (!StrataError.isInstance(error)) throw error;
      codes.push(error.code);
    }
  }
  return { bytesRead, accepted, codes };
}

/**
 * Mutates the seeds and feeds them to the GGUF and safetensors readers. Every input must either parse or raise a
 * StrataError, read at most twice its own size, and finish within `slowMilliseconds`.
 */
export async function fuzzLoaders(seeds: readonly FuzzSeed[], options: FuzzOptions): Promise<FuzzReport> {
  const random = new Random(options.seed);
  const donors = seeds.map((seed) => seed.bytes);
  const deadline = performance.now() + (options.milliseconds ?? Number.POSITIVE_INFINITY);
  const limit = options.iterations ?? Number.POSITIVE_INFINITY;
  const slow = options.slowMilliseconds ?? 5000;
  const rejectedByCode: Record<string, number> = {};
  const failures: FuzzFailure[] = [];
  let accepted = 0;
  let iteration = 0;
  for (; iteration < limit && performance.now() < deadline; iteration++) {
    const seed = random.pick(seeds);
    const input =
      seed.format === 'safetensors' && random.next() < 0.6
        ? mutateSafetensorsJson(seed.bytes, random)
        : mutate(seed.bytes, random, seed.headerBytes, donors);
    const started = performance.now();
    try {
      const result = await exercise(input);
      if (result.accepted) accepted++;
      for (const code of result.codes) rejectedByCode[code] = (rejectedByCode[code] ?? 0) + 1;
      if (result.bytesRead > 2 * input.byteLength + 16) {
        failures.push({
          iteration,
          seedName: seed.name,
          reason: `read ${result.bytesRead} bytes of a ${input.byteLength}-byte input`,
          input,
        });
      }
    } catch (error) {
      failures.push({
        iteration,
        seedName: seed.name,
        reason: error instanceof Error ? (error.stack ?? error.message) : String(error),
        input,
      });
    }
    const elapsed = performance.now() - started;
    if (elapsed > slow)
      failures.push({ iteration, seedName: seed.name, reason: `took ${elapsed.toFixed(0)} ms`, input });
  }
  return { iterations: iteration, accepted, rejectedByCode, failures };
}
