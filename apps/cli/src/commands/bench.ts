import { parseArgs } from 'node:util';
import { benchmarkPipeline, checkBenchmarkOptions } from '@strata/pipeline';
import type { Command, CommandOutput } from '../command.js';
import {
  cacheTypeOption,
  checkPipelineFlags,
  loadForCommand,
  numberOption,
  PIPELINE_OPTIONS,
} from './pipeline-setup.js';

const USAGE = `Usage: strata bench MODEL [-p 512] [-n 128] [-r 3] [--backend cpu|webgpu]

Measures prompt processing and generation speed as llama-bench does and prints JSON on stdout:
  pp = tokens/s of a prefill of P random tokens, tg = tokens/s generating N tokens one at a time (from a 1-token
  context). Each test runs once to warm up, then R times; the mean and standard deviation are reported.
  -p, --n-prompt P       prompt tokens (default 512; 0 skips pp)
  -n, --n-gen N          generated tokens (default 128; 0 skips tg)
  -r, --repetitions R    runs per test (default 3)
  --backend cpu|webgpu   default: webgpu on a hardware adapter, else cpu (software adapters are slower)
  --chunk-size N         prefill rows per step (default 256)
  --cache-type f32|f16|q8_0
                         KV cache numerics (default f32; f16 rounds as llama.cpp's default cache; q8_0 as its
                         q8_0 cache type, 34 bytes per 32 values)
Exit codes: 0 done, 2 bad arguments, 1 other failures.`;

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
    checkPipelineFlags(values);
    checkBenchmarkOptions({ promptTokens, generatedTokens, repetitions });
  } catch (error) {
    output.error(`strata bench: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  if (positionals.length !== 1) {
    output.error(`strata bench: give one MODEL.\n${USAGE}\n`);
    return 2;
  }
  const contextLength = Math.max(promptTokens, 1) + generatedTokens + 1;
  const { pipeline, backendName, backendLabel, release } = await loadForCommand(positionals[0]!, values, output, {
    contextLength,
  });
  try {
    const measured = await benchmarkPipeline(pipeline, {
      promptTokens,
      generatedTokens,
      repetitions,
      onRun: (test, run, rate) => {
        const size = test === 'pp' ? promptTokens : generatedTokens;
        output.error(`${test}${size} run ${run === 0 ? 'warm-up' : run}: ${rate.toFixed(1)} tok/s\n`);
      },
    });
    const result = {
      model: positionals[0],
      backend: backendName,
      adapter: backendLabel,
      contextLength: pipeline.contextLength,
      chunkSize: pipeline.chunkSize,
      cacheType: cacheTypeOption(values) ?? 'f32',
      repetitions,
      ...measured,
    };
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
