import { StrataError } from '@strata/core';
import type { Generation } from '../generation/generation.js';
import type { GenerateOptions } from '../generation/types.js';

// What `Scheduler.warmUp` runs: short generations whose steps take the kernel shapes a served model meets first, so
// that a backend that builds its pipelines on first use (WebGPU) builds them before the first request instead of in
// the middle of it. A step's products take their shape from its rows (1; 2 to 8 as row groups of that size; 9 to 32
// as groups of 5 to 8, and from 16 rows the 8-bit batched products' groups; more than 32 the prefill tiles), the
// attention from the rows of each sequence and whether its keys are split, the token choice from the sampling filters.

/**
 * Prompt lengths of the single warm-up prompts: every row group of 2 to 8 rows (a prefill chunk of any length up to 32
 * runs one), the 8-bit batched products' groups of 8, 6 and 7 (16, 17 and 19 rows), attention blocks of 1 to 16 rows,
 * and a prefill tile.
 */
const PROMPT_LENGTHS = [1, 2, 3, 4, 5, 6, 7, 8, 16, 17, 19, 40];

/** The longest warm-up prompt (keys enough to split the attention over workgroups), within the context. */
const LONG_PROMPT = 160;

/** Most sequences of the batch sweep (the batched products' largest row count). */
const MOST_SEQUENCES = 32;

/** Sampling settings of the last warm-up generations: plain temperature, and llama-server's default filters. */
const SAMPLED: readonly GenerateOptions[] = [
  { temperature: 1 },
  { temperature: 0.8, topK: 40, topP: 0.95, minP: 0.05 },
];

/** What the warm-up needs to know of the scheduler. */
export interface WarmUpTarget {
  /** Queues a generation (`Scheduler.submit`). */
  readonly submit: (ids: readonly number[], options: GenerateOptions) => Generation;
  /** Tokens one sequence may hold. */
  readonly contextLength: number;
  /** Ids of the vocabulary. */
  readonly vocabularySize: number;
  /** Sequences running at once. */
  readonly parallel: number;
}

/** Distinct prompt ids (no prefix shared with another warm-up prompt), within the vocabulary. */
function promptIds(index: number, length: number, vocabulary: number): number[] {
  return Array.from({ length }, (_, position) => (1 + index * 7919 + position * 104729) % vocabulary);
}

/**
 * Runs the warm-up through `target.submit` (greedy unless said, the end of generation ignored): the single prompts one
 * after another (two tokens each), the sampled ones, then the batch sweep: as many two-token prompts as run at once
 * (at most 32), the i-th generating i + 1 tokens, so that the decode steps run every row count from that many down to
 * one. Generations the KV budget could never hold are left out. Resolves to the number of generations run.
 */
export async function runWarmUp(target: WarmUpTarget): Promise<number> {
  const { contextLength, vocabularySize: vocabulary } = target;
  const longest = Math.min(LONG_PROMPT, contextLength - 2);
  const lengths = [...PROMPT_LENGTHS, longest].filter((length) => length >= 1 && length <= longest);
  let index = 0;
  let runs = 0;
  // A generation the KV budget could never hold (CONTEXT_OVERFLOW when submitted) is left out.
  const run = async (length: number, options: GenerateOptions) => {
    let generation: Generation;
    try {
      generation = target.submit(promptIds(index++, length, vocabulary), { ...options, ignoreEndOfGeneration: true });
    } catch (error) {
      if (StrataError.isInstance(error, 'CONTEXT_OVERFLOW')) return;
      throw error;
    }
    runs++;
    await generation.result;
  };
  for (const length of lengths) await run(length, { temperature: 0, maxTokens: 2 });
  for (const options of SAMPLED) await run(Math.min(3, longest), { ...options, seed: 1, maxTokens: 2 });
  const sweep = Math.min(target.parallel, MOST_SEQUENCES, contextLength - 2);
  await Promise.all(Array.from({ length: sweep }, (_, order) => run(2, { temperature: 0, maxTokens: order + 1 })));
  return runs;
}
