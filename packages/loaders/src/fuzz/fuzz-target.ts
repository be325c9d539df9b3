import { StrataError } from '@strata/core';
import { Random } from './mutate.js';

/**
 * One reader under fuzzing: how to make an input from the seeds, and how to feed it to the reader. `exercise` returns
 * the StrataError codes the input raised (empty when it was accepted) and lets anything else escape: that is a finding.
 */
export interface FuzzTarget<Input> {
  /** The reader's name (`gguf`, `safetensors`, `tokenizer`, `template`). */
  readonly name: string;
  /** A fresh mutated input. */
  mutate(random: Random): Input;
  /** Feeds `input` to the reader; returns the codes of the StrataErrors it raised, empty when it was accepted. */
  exercise(input: Input): Promise<readonly string[]> | readonly string[];
  /** The input as bytes, to save a failing one. */
  serialize(input: Input): Uint8Array;
}

/** Options of {@link fuzzTarget}. */
export interface FuzzTargetOptions {
  /** PRNG seed. */
  readonly seed: number;
  /** Stop after this many inputs… */
  readonly iterations?: number;
  /** …or after this many milliseconds, whichever comes first. */
  readonly milliseconds?: number;
  /** Longest one input may take, in milliseconds. Default 2000. */
  readonly inputMilliseconds?: number;
  /** Heap the process may hold after an input (after a collection, when `gc` is exposed), in bytes. Default 1 GiB. */
  readonly heapBytes?: number;
  /** Called every `progressEvery` inputs with the number done (a watchdog's heartbeat). */
  readonly onProgress?: (iterations: number) => void;
  /** Inputs between `onProgress` calls. Default 100. */
  readonly progressEvery?: number;
}

/** An input that broke a rule. */
export interface TargetFailure {
  /** Zero-based iteration (the same seed and target regenerate the input). */
  readonly iteration: number;
  /** What went wrong: the foreign error, the time taken, the heap held. */
  readonly reason: string;
  /** The input, to save as a regression case. */
  readonly input: Uint8Array;
}

/** What a run over one target did. */
export interface TargetReport {
  /** The target's name. */
  readonly target: string;
  /** Inputs tried. */
  readonly iterations: number;
  /** Inputs the reader accepted. */
  readonly accepted: number;
  /** StrataErrors by code, over all inputs. */
  readonly rejectedByCode: Readonly<Record<string, number>>;
  /** Slowest input, in milliseconds. */
  readonly slowestMilliseconds: number;
  /** Largest heap seen after an input, in bytes. */
  readonly peakHeapBytes: number;
  /** Inputs that broke a rule; empty on a clean run. */
  readonly failures: readonly TargetFailure[];
}

const collect = (globalThis as { gc?: () => void }).gc;

/** The heap in use now, in bytes (`process.memoryUsage` in Node, `performance.memory` elsewhere, else 0). */
function heapUsed(): number {
  const memoryUsage = (globalThis as { process?: { memoryUsage?: () => { heapUsed: number } } }).process?.memoryUsage;
  return memoryUsage === undefined ? 0 : memoryUsage().heapUsed;
}

/**
 * Mutates and feeds inputs to one reader. An input fails the run when it raises anything but a StrataError, takes
 * longer than `inputMilliseconds`, or leaves the heap above `heapBytes` (checked every 16 inputs and after slow ones,
 * after a garbage collection when `gc` is exposed). A reader that never returns is the caller's watchdog's to catch
 * (`run-fuzz.ts` runs each reader in a child process with a memory cap and kills it when its heartbeat stops).
 */
export async function fuzzTarget<Input>(target: FuzzTarget<Input>, options: FuzzTargetOptions): Promise<TargetReport> {
  const random = new Random(options.seed);
  const deadline = performance.now() + (options.milliseconds ?? Number.POSITIVE_INFINITY);
  const limit = options.iterations ?? Number.POSITIVE_INFINITY;
  const slow = options.inputMilliseconds ?? 2000;
  const heapBound = options.heapBytes ?? 1024 ** 3;
  const progressEvery = options.progressEvery ?? 100;
  const rejectedByCode: Record<string, number> = {};
  const failures: TargetFailure[] = [];
  let accepted = 0;
  let slowest = 0;
  let peakHeap = 0;
  let iteration = 0;
  for (; iteration < limit && performance.now() < deadline; iteration++) {
    if (options.onProgress !== undefined && iteration % progressEvery === 0) options.onProgress(iteration);
    const input = target.mutate(random);
    const started = performance.now();
    try {
      const codes = await target.exercise(input);
      if (codes.length === 0) accepted++;
      for (const code of codes) rejectedByCode[code] = (rejectedByCode[code] ?? 0) + 1;
    } catch (error) {
      if (StrataError.isInstance(error)) rejectedByCode[error.code] = (rejectedByCode[error.code] ?? 0) + 1;
      else {
        const reason = error instanceof Error ? (error.stack ?? error.message) : String(error);
        failures.push({ iteration, reason, input: target.serialize(input) });
      }
    }
    const elapsed = performance.now() - started;
    slowest = Math.max(slowest, elapsed);
    if (elapsed > slow) {
      failures.push({
        iteration,
        reason: `took ${elapsed.toFixed(0)} ms (limit ${slow})`,
        input: target.serialize(input),
      });
    }
    if (iteration % 16 === 0 || elapsed > slow / 4) {
      let heap = heapUsed();
      if (heap > heapBound && collect !== undefined) {
        collect();
        heap = heapUsed();
      }
      peakHeap = Math.max(peakHeap, heap);
      if (heap > heapBound) {
        failures.push({
          iteration,
          reason: `heap at ${heap} bytes after the input, over the bound of ${heapBound}`,
          input: target.serialize(input),
        });
      }
    }
  }
  return {
    target: target.name,
    iterations: iteration,
    accepted,
    rejectedByCode,
    slowestMilliseconds: slowest,
    peakHeapBytes: peakHeap,
    failures,
  };
}

/**
 * Runs `work`, returning the StrataError codes it raised (none when it succeeded); anything else is rethrown.
 * `label` prefixes the code (`encode:TOKEN_OUT_OF_RANGE`) when a target counts several steps apart.
 */
export async function codesOf(work: () => unknown, label = ''): Promise<string[]> {
  try {
    await work();
    return [];
  } catch (error) {
    if (!StrataError.isInstance(error)) throw error;
    return [label === '' ? error.code : `${label}:${error.code}`];
  }
}
