import { parseArgs } from 'node:util';
import { StrataError } from '@strata/core';
import { SeededRandom } from '@strata/pipeline';
import type { Command, CommandOutput } from '../command.js';
import { loadForCommand, numberOption, PIPELINE_OPTIONS } from './pipeline-setup.js';

const USAGE = `Usage: strata bench MODEL [-p 512] [-n 128] [-r 3] [--backend cpu|webgpu]

Measures prompt processing and generation speed as llama-bench does and prints JSON on stdout:
  pp = tokens/s of a prefill of P random tokens, tg = tokens/s generating N tokens one at a time (from a 1-token
  context). Each test runs once to warm up, then R times; the mean and standard deviation are reported.
  -p, --n-prompt P       prompt tokens (default 512; 0 skips pp)
  -n, --n-gen N          generated tokens (default 128; 0 skips tg)
  -r, --repetitions R    runs per test (default 3)
  --backend cpu|webgpu   default: webgpu when an adapter exists, else cpu
  --chunk-size N         prefill rows per step (default 256)
Exit codes: 0 done, 2 bad arguments, 1 other failures.`;

/** Mean and standard deviation. */
function summary(samples: number[]): { mean: number; stddev: number; samples: number[] } {
  const mean = samples.reduce((total, value) => total + value, 0) / samples.length;
  const variance = samples.reduce((total, value) => total + (value - mean) ** 2, 0) / Math.max(1, samples.length - 1);
  return { mean, stddev: Math.sqrt(variance), samples };
}

async function run(argv: readonly string[], output: CommandOutput): Promise<number> {
  let values: Record<string, unknown>;
  let positionals: string[];
  let promptTokens: number;
  let generatedTokens: number;
  let repetitions: number;
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        'n-prompt': { type: 'string', short: 'p' },
        'n-gen': { type: 'string', short: 'n' },
        repetitions: { type: 'string', short: 'r' },
        ...PIPELINE_OPTIONS,
      },
    }));
    promptTokens = numberOption(values, 'n-prompt') ?? 512;
    generatedTokens = numberOption(values, 'n-gen') ?? 128;
    repetitions = numberOption(values, 'repetitions') ?? 3;
    for (const [name, value, least] of [
      ['-p', promptTokens, 0],
      ['-n', generatedTokens, 0],
      ['-r', repetitions, 1],
    ] as const) {
      if (!Number.isInteger(value) || value < least) {
        throw new StrataError('INVALID_ARGUMENT', `${name} ${value}: give an integer ≥ ${least}.`);
      }
    }
  } catch (error) {
    output.error(`strata bench: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (positionals.length !== 1) {
    output.error(`strata bench: give one MODEL.\n${USAGE}\n`);
    return 2;
  }
  const contextLength = Math.max(promptTokens, 1) + generatedTokens + 2;
  const { pipeline, backendName, release } = await loadForCommand(positionals[0]!, values, output, { contextLength });
  try {
    const random = new SeededRandom(1234);
    const randomTokens = (count: number) =>
      Array.from({ length: count }, () => Math.floor(random.next() * pipeline.vocabularySize));
    const greedy = { ignoreEndOfGeneration: true, temperature: 0 } as const;
    const result: Record<string, unknown> = {
      model: positionals[0],
      backend: backendName,
      contextLength: pipeline.contextLength,
      chunkSize: pipeline.chunkSize,
      repetitions,
    };
    if (promptTokens > 0) {
      const rates: number[] = [];
      for (let index = 0; index <= repetitions; index++) {
        await pipeline.reset();
        const { stats } = await pipeline.generate(randomTokens(promptTokens), { ...greedy, maxTokens: 1 }).result;
        if (index > 0) rates.push(stats.prefillTokensPerSecond);
        output.error(
          `pp${promptTokens} run ${index === 0 ? 'warm-up' : index}: ${stats.prefillTokensPerSecond.toFixed(1)} tok/s\n`,
        );
      }
      result.pp = { tokens: promptTokens, tokensPerSecond: summary(rates) };
    }
    if (generatedTokens > 0) {
      const rates: number[] = [];
      for (let index = 0; index <= repetitions; index++) {
        await pipeline.reset();
        // One prompt token, then N decode steps (the first generated token comes from the prefill step).
        const { stats } = await pipeline.generate(randomTokens(1), { ...greedy, maxTokens: generatedTokens + 1 })
          .result;
        if (index > 0) rates.push(stats.decodeTokensPerSecond);
        output.error(
          `tg${generatedTokens} run ${index === 0 ? 'warm-up' : index}: ${stats.decodeTokensPerSecond.toFixed(1)} tok/s\n`,
        );
      }
      result.tg = { tokens: generatedTokens, tokensPerSecond: summary(rates) };
    }
    output.out(`${JSON.stringify(result, null, 2)}\n`);
    return 0;
  } finally {
    await release();
  }
}

/** `strata bench MODEL`: prefill and decode tokens/s as JSON (llama-bench's pp and tg). */
export const benchCommand: Command = {
  name: 'bench',
  summary: 'prefill (pp) and decode (tg) tokens/s as JSON',
  usage: USAGE,
  run,
};
