import { StrataError } from '@strata/core';
import { SeededRandom } from '../sampling/random.js';
import type { TextPipeline } from '../text-pipeline.js';

/** Options of {@link benchmarkPipeline}: llama-bench's pp and tg tests. */
export interface BenchmarkOptions {
  /** Prompt tokens of the pp test (0 skips it). */
  readonly promptTokens: number;
  /** Generated tokens of the tg test (0 skips it). */
  readonly generatedTokens: number;
  /** Measured runs per test, after one warm-up run. */
  readonly repetitions: number;
  /** Seed of the random prompt tokens. */
  readonly seed?: number;
  /**
   * Tokens already in the cache when the tg test starts decoding (llama-bench's `-d`): tg then measures decoding at
   * that depth (default 0: from a one-token context). The prefill of those tokens is not timed.
   */
  readonly depth?: number;
  /** Called after each run (the warm-up is run 0). */
  readonly onRun?: (test: 'pp' | 'tg', run: number, tokensPerSecond: number) => void;
}

/** Mean, sample standard deviation and the samples, in tokens per second. */
export interface RateSummary {
  /** Arithmetic mean of `samples`, tokens/s. */
  readonly mean: number;
  /** Sample standard deviation of `samples` (divisor n − 1; 0 for a single run), tokens/s. */
  readonly stddev: number;
  /** Tokens/s of each measured run in run order (the warm-up run excluded); `repetitions` values. */
  readonly samples: readonly number[];
}

/** What {@link benchmarkPipeline} measured. */
export interface BenchmarkResult {
  /** pp: tokens/s of prefilling `promptTokens` random tokens into an empty cache (choosing one token included). */
  readonly pp?: { readonly tokens: number; readonly tokensPerSecond: RateSummary };
  /** tg: tokens/s of `generatedTokens` decode steps, one token each, from a context of `depth` tokens (at least 1). */
  readonly tg?: { readonly tokens: number; readonly tokensPerSecond: RateSummary };
}

function summarize(samples: number[]): RateSummary {
  const mean = samples.reduce((total, value) => total + value, 0) / samples.length;
  const variance = samples.reduce((total, value) => total + (value - mean) ** 2, 0) / Math.max(1, samples.length - 1);
  return { mean, stddev: Math.sqrt(variance), samples };
}

/** Checks the sizes of a benchmark (`INVALID_ARGUMENT` naming the one out of range) before anything is loaded. */
export function checkBenchmarkOptions(
  options: Pick<BenchmarkOptions, 'promptTokens' | 'generatedTokens' | 'repetitions'>,
): void {
  for (const [name, value, least] of [
    ['promptTokens', options.promptTokens, 0],
    ['generatedTokens', options.generatedTokens, 0],
    ['repetitions', options.repetitions, 1],
  ] as const) {
    if (!Number.isInteger(value) || value < least) {
      throw new StrataError('INVALID_ARGUMENT', `${name} is ${value}; give an integer ≥ ${least}.`);
    }
  }
}

/**
 * Measures prompt processing (pp) and generation (tg) speed the way llama-bench defines them, with random prompt
 * tokens, greedy decoding and the cache reset before every run. The pipeline's context must hold
 * `max(promptTokens, 1) + generatedTokens + 1` tokens.
 */
export async function benchmarkPipeline(pipeline: TextPipeline, options: BenchmarkOptions): Promise<BenchmarkResult> {
  const { promptTokens, generatedTokens, repetitions } = options;
  checkBenchmarkOptions(options);
  const depth = options.depth ?? 0;
  if (!Number.isInteger(depth) || depth < 0) {
    throw new StrataError('INVALID_ARGUMENT', `depth is ${depth}; give an integer ≥ 0.`);
  }
  const needed = Math.max(promptTokens, depth, 1) + generatedTokens + 1;
  if (needed > pipeline.contextLength) {
    throw new StrataError(
      'CONTEXT_OVERFLOW',
      `The benchmark needs ${needed} tokens of context; the pipeline holds ${pipeline.contextLength}.`,
    );
  }
  const random = new SeededRandom(options.seed ?? 1234);
  const randomTokens = (count: number) =>
    Array.from({ length: count }, () => Math.floor(random.next() * pipeline.vocabularySize));
  const greedy = { ignoreEndOfGeneration: true, temperature: 0 } as const;
  const measure = async (test: 'pp' | 'tg', once: () => Promise<number>) => {
    const samples: number[] = [];
    for (let run = 0; run <= repetitions; run++) {
      await pipeline.reset();
      const rate = await once();
      if (run > 0) samples.push(rate);
      options.onRun?.(test, run, rate);
    }
    return summarize(samples);
  };
  const result: { pp?: BenchmarkResult['pp']; tg?: BenchmarkResult['tg'] } = {};
  if (promptTokens > 0) {
    const rate = await measure('pp', async () => {
      const { stats } = await pipeline.generate(randomTokens(promptTokens), { ...greedy, maxTokens: 1 }).result;
      return stats.prefillTokensPerSecond;
    });
    result.pp = { tokens: promptTokens, tokensPerSecond: rate };
  }
  if (generatedTokens > 0) {
    const rate = await measure('tg', async () => {
      // `depth` prompt tokens (at least one); the first generated token comes from their prefill, then N decode steps.
      const { stats } = await pipeline.generate(randomTokens(Math.max(depth, 1)), {
        ...greedy,
        maxTokens: generatedTokens + 1,
      }).result;
      return stats.decodeTokensPerSecond;
    });
    result.tg = { tokens: generatedTokens, tokensPerSecond: rate };
  }
  return result;
}
