import { type ParseArgsConfig, parseArgs } from 'node:util';
import { StrataError } from '@strata/core';
import {
  type CacheType,
  checkRuntimeOptions,
  type GenerateOptions,
  type LoadProgress,
  normalizeSamplingOptions,
  TextPipeline,
} from '@strata/pipeline';
import type { CacheProgress } from '@strata/loaders';
import type { CommandOutput } from '../command.js';
import { checkBackendName, chooseBackend } from './backend-choice.js';
import { downloadLine, openModelArgument } from './model-argument.js';

/** Options shared by `strata run`, `chat` and `bench`, for node:util parseArgs. */
export const PIPELINE_OPTIONS = {
  backend: { type: 'string' },
  ctx: { type: 'string', short: 'c' },
  'chunk-size': { type: 'string' },
  'cache-type': { type: 'string' },
} as const satisfies ParseArgsConfig['options'];

/** Sampling and stopping options of `strata run` and `chat`. */
export const SAMPLING_OPTIONS = {
  'n-predict': { type: 'string', short: 'n' },
  temp: { type: 'string' },
  'top-k': { type: 'string' },
  'top-p': { type: 'string' },
  'min-p': { type: 'string' },
  'repeat-penalty': { type: 'string' },
  'presence-penalty': { type: 'string' },
  'frequency-penalty': { type: 'string' },
  'repeat-last-n': { type: 'string' },
  seed: { type: 'string' },
  stop: { type: 'string', multiple: true },
  'ignore-eos': { type: 'boolean' },
} as const satisfies ParseArgsConfig['options'];

/** What {@link parseGenerationArgs} returns for a command with its own `T` options. */
export type GenerationArgs<T extends NonNullable<ParseArgsConfig['options']>> = ReturnType<
  typeof parseArgs<{
    args: string[];
    allowPositionals: true;
    strict: true;
    options: T & typeof SAMPLING_OPTIONS & typeof PIPELINE_OPTIONS;
  }>
>;

/**
 * Parses the arguments of a generating command (`strata run`, `chat`): positionals, the command's own `options`, and
 * {@link SAMPLING_OPTIONS} and {@link PIPELINE_OPTIONS}, strictly. Throws node:util's `ERR_PARSE_ARGS_*` errors.
 */
export function parseGenerationArgs<const T extends NonNullable<ParseArgsConfig['options']>>(
  argv: readonly string[],
  options: T,
): GenerationArgs<T> {
  return parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: { ...options, ...SAMPLING_OPTIONS, ...PIPELINE_OPTIONS },
  });
}

/** The usage lines of {@link SAMPLING_OPTIONS} and {@link PIPELINE_OPTIONS}. */
export const SHARED_USAGE = `  -n, --n-predict N      tokens to generate (default 256)
  --temp T               temperature (default 0.8; 0 is greedy)
  --top-k K --top-p P --min-p M
                         filters (defaults 40, 0.95, 0.05 as llama.cpp; 0 / 1 / 0 disable)
  --repeat-penalty R --presence-penalty P --frequency-penalty F --repeat-last-n N
  --seed S               seed of the sampler (same seed, same text)
  --stop TEXT            stop string (repeatable)
  --ignore-eos           keep going past end-of-generation tokens
  --backend cpu|webgpu   default: webgpu on a hardware adapter, else cpu (software adapters are slower)
  -c, --ctx N            context length (default 4096, capped by the model)
  --chunk-size N         prefill rows per step (default 256)
  --cache-type f32|f16|q8_0
                         KV cache numerics (default f32, transformers' exact path; f16 rounds keys and values
                         to half precision as llama.cpp's default cache does, and takes half the memory;
                         q8_0 stores blocks of 32 int8 values and a scale, 34/128 of f32, heads of 32k dimensions)`;

/** A number option: undefined when absent; `INVALID_ARGUMENT` naming the flag when not a number. */
export function numberOption(values: Record<string, unknown>, name: string): number | undefined {
  const text = values[name];
  if (text === undefined) return undefined;
  const value = Number(text);
  if (typeof text !== 'string' || text.trim() === '' || Number.isNaN(value)) {
    throw new StrataError('INVALID_ARGUMENT', `--${name} ${String(text)} is not a number.`);
  }
  return value;
}

/** `--cache-type f32|f16|q8_0`: undefined when absent; `INVALID_ARGUMENT` naming the flag otherwise. */
export function cacheTypeOption(values: Record<string, unknown>): CacheType | undefined {
  const text = values['cache-type'];
  if (text === undefined) return undefined;
  if (text === 'f32' || text === 'f16' || text === 'q8_0') return text;
  throw new StrataError('INVALID_ARGUMENT', `--cache-type ${String(text)}: choose f32, f16 or q8_0.`);
}

/** The flag of each sampling option, for error messages. */
const FLAGS: Readonly<Record<string, string>> = {
  temperature: '--temp',
  topK: '--top-k',
  topP: '--top-p',
  minP: '--min-p',
  repetitionPenalty: '--repeat-penalty',
  presencePenalty: '--presence-penalty',
  frequencyPenalty: '--frequency-penalty',
  penaltyWindow: '--repeat-last-n',
  seed: '--seed',
};

/**
 * Checks every option of a generating command before anything loads: sampling ranges (`--top-p 2`), `-n` (an integer ≥
 * 1), `--seed` (an integer), `--backend`, `--ctx`, `--chunk-size`, `--cache-type`. Throws `INVALID_ARGUMENT` or
 * `INVALID_SAMPLING_OPTIONS` naming the flag; commands turn it into exit status 2.
 */
export function checkGenerationFlags(values: Record<string, unknown>, options: GenerateOptions): void {
  checkPipelineFlags(values);
  const maxTokens = options.maxTokens;
  if (maxTokens !== undefined && !(Number.isInteger(maxTokens) && maxTokens >= 1)) {
    throw new StrataError('INVALID_ARGUMENT', `-n ${maxTokens}: --n-predict must be an integer ≥ 1.`);
  }
  try {
    normalizeSamplingOptions(options);
  } catch (error) {
    if (!StrataError.isInstance(error, 'INVALID_SAMPLING_OPTIONS')) throw error;
    const option = String((error.details as { option?: unknown } | undefined)?.option ?? '');
    const flag = FLAGS[option];
    if (flag === undefined) throw error;
    throw new StrataError('INVALID_SAMPLING_OPTIONS', `${flag} ${String(values[flag.slice(2)])}: ${error.message}`);
  }
}

/** Checks `--backend`, `--ctx`, `--chunk-size` and `--cache-type` (see {@link checkGenerationFlags}). */
export function checkPipelineFlags(values: Record<string, unknown>): void {
  checkBackendName(values.backend);
  cacheTypeOption(values);
  const contextLength = numberOption(values, 'ctx');
  const chunkSize = numberOption(values, 'chunk-size');
  try {
    checkRuntimeOptions(contextLength ?? 4096, chunkSize ?? 1);
  } catch (error) {
    if (!StrataError.isInstance(error)) throw error;
    const flag =
      contextLength !== undefined && !(Number.isInteger(contextLength) && contextLength >= 2)
        ? '--ctx'
        : '--chunk-size';
    throw new StrataError('INVALID_ARGUMENT', `${flag}: ${error.message}`);
  }
}

/** Generate options from parsed flags, with llama.cpp's sampling defaults where a flag is absent. */
export function generateOptionsOf(values: Record<string, unknown>): GenerateOptions {
  const number = (name: string, fallback?: number) => numberOption(values, name) ?? fallback;
  const seed = number('seed');
  const penaltyWindow = number('repeat-last-n');
  return {
    maxTokens: number('n-predict', 256)!,
    temperature: number('temp', 0.8)!,
    topK: number('top-k', 40)!,
    topP: number('top-p', 0.95)!,
    minP: number('min-p', 0.05)!,
    repetitionPenalty: number('repeat-penalty', 1)!,
    presencePenalty: number('presence-penalty', 0)!,
    frequencyPenalty: number('frequency-penalty', 0)!,
    ...(penaltyWindow === undefined ? {} : { penaltyWindow }),
    ...(seed === undefined ? {} : { seed }),
    ...(values.stop === undefined ? {} : { stop: values.stop as string[] }),
    ...(values['ignore-eos'] === true ? { ignoreEndOfGeneration: true } : {}),
  };
}

function sizeOf(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${(bytes / 2 ** 10).toFixed(1)} KiB`;
}

/**
 * Loading progress on stderr: a bar redrawn in place (at most every 100 ms) when stderr is a terminal, otherwise one
 * line once loading is done (no carriage returns in logs and pipes).
 */
export function progressBar(
  output: CommandOutput,
  download?: () => CacheProgress | undefined,
): (progress: LoadProgress) => void {
  let last = 0;
  return (progress) => {
    const totals = `${sizeOf(progress.loadedBytes)}/${sizeOf(progress.totalBytes)} · ${progress.loadedTensors}/${progress.totalTensors} tensors`;
    if (output.errorIsTerminal !== true) {
      const downloading = download?.();
      if (progress.done) {
        output.error(`loaded ${totals}${downloading === undefined ? '' : ` · ${downloadLine(downloading)}`}\n`);
      }
      return;
    }
    const now = performance.now();
    if (!progress.done && now - last < 100) return;
    last = now;
    const fraction = progress.totalBytes === 0 ? 1 : progress.loadedBytes / progress.totalBytes;
    const width = 30;
    const filled = Math.round(fraction * width);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    const downloading = download?.();
    output.error(
      `\rloading [${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ${totals}${downloading === undefined ? '' : ` · ${downloadLine(downloading)}`}${progress.done ? '\n' : ''}`,
    );
  };
}

/** Loads MODEL on the chosen backend with a progress bar; returns the pipeline and a release function. */
export async function loadForCommand(
  model: string,
  values: Record<string, unknown>,
  output: CommandOutput,
  overrides: { contextLength?: number } = {},
): Promise<{ pipeline: TextPipeline; backendName: string; backendLabel: string; release: () => Promise<void> }> {
  const chosen = await chooseBackend(values.backend, output);
  const contextLength = overrides.contextLength ?? numberOption(values, 'ctx');
  const chunkSize = numberOption(values, 'chunk-size');
  let cacheType: CacheType | undefined;
  try {
    cacheType = cacheTypeOption(values);
  } catch (error) {
    chosen.release();
    throw error;
  }
  try {
    let download: CacheProgress | undefined;
    const opened = await openModelArgument(model, output, {
      onDownload: (progress) => {
        download = progress;
      },
    });
    const pipeline = await TextPipeline.load(opened.files, {
      backend: chosen.backend,
      onProgress: progressBar(output, () => download),
      ...(contextLength === undefined ? {} : { contextLength }),
      ...(chunkSize === undefined ? {} : { chunkSize }),
      ...(cacheType === undefined ? {} : { cacheType }),
    });
    try {
      await opened.completed;
    } catch (error) {
      await pipeline.dispose();
      throw error;
    }
    return {
      pipeline,
      backendName: chosen.backend.name,
      backendLabel: chosen.label,
      release: async () => {
        await pipeline.dispose();
        chosen.release();
      },
    };
  } catch (error) {
    chosen.release();
    throw error;
  }
}

/** Formats generation stats for stderr. */
export function statsLine(stats: {
  promptTokens: number;
  cachedPromptTokens: number;
  generatedTokens: number;
  timeToFirstTokenMs: number;
  prefillTokensPerSecond: number;
  decodeTokensPerSecond: number;
}): string {
  const cached = stats.cachedPromptTokens > 0 ? ` (${stats.cachedPromptTokens} cached)` : '';
  return (
    `prompt ${stats.promptTokens} tokens${cached} · prefill ${stats.prefillTokensPerSecond.toFixed(1)} tok/s · ` +
    `first token ${stats.timeToFirstTokenMs.toFixed(0)} ms · generated ${stats.generatedTokens} tokens · ` +
    `decode ${stats.decodeTokensPerSecond.toFixed(1)} tok/s`
  );
}
