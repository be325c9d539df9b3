import { type ParseArgsConfig, parseArgs } from 'node:util';
import { type Backend, StrataError } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import type { CacheProgress } from '@strata/loaders';
import { type CacheType, type GenerateOptions, type LoadProgress, TextPipeline } from '@strata/pipeline';
import type { CommandOutput } from '../command.js';
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
  --backend cpu|webgpu   default: webgpu when an adapter exists, else cpu
  -c, --ctx N            context length (default 4096, capped by the model)
  --chunk-size N         prefill rows per step (default 256)
  --cache-type f32|f16   KV cache numerics (default f32, transformers' exact path; f16 rounds keys and values
                         to half precision as llama.cpp's default cache does)`;

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

/** `--cache-type f32|f16`: undefined when absent; `INVALID_ARGUMENT` naming the flag otherwise. */
export function cacheTypeOption(values: Record<string, unknown>): CacheType | undefined {
  const text = values['cache-type'];
  if (text === undefined) return undefined;
  if (text === 'f32' || text === 'f16') return text;
  throw new StrataError('INVALID_ARGUMENT', `--cache-type ${String(text)}: choose f32 or f16.`);
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

/** A backend and the function that releases it (WebGPU: the device, so Node can exit). */
export interface ChosenBackend {
  readonly backend: Backend;
  readonly release: () => void;
}

/** `--backend cpu|webgpu`, or WebGPU when an adapter exists and the CPU otherwise. */
export async function chooseBackend(name: unknown, output: CommandOutput): Promise<ChosenBackend> {
  if (name !== undefined && name !== 'cpu' && name !== 'webgpu') {
    throw new StrataError('INVALID_ARGUMENT', `--backend ${String(name)}: choose cpu or webgpu.`);
  }
  if (name === 'cpu') return { backend: createCpuBackend(), release: () => {} };
  try {
    const { createWebGpuBackend } = await import('@strata/kernels-webgpu');
    const backend = await createWebGpuBackend();
    return { backend, release: () => backend.destroy() };
  } catch (error) {
    if (name === 'webgpu' || !StrataError.isInstance(error, 'NO_ADAPTER')) throw error;
    output.error(`strata: no WebGPU adapter (${error.message}); using the CPU backend.\n`);
    return { backend: createCpuBackend(), release: () => {} };
  }
}

function sizeOf(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  return `${(bytes / 2 ** 10).toFixed(1)} KiB`;
}

/** A progress bar on stderr, redrawn at most every 100 ms. */
export function progressBar(
  output: CommandOutput,
  download?: () => CacheProgress | undefined,
): (progress: LoadProgress) => void {
  let last = 0;
  return (progress) => {
    const now = performance.now();
    if (!progress.done && now - last < 100) return;
    last = now;
    const fraction = progress.totalBytes === 0 ? 1 : progress.loadedBytes / progress.totalBytes;
    const width = 30;
    const filled = Math.round(fraction * width);
    const bar = `${'#'.repeat(filled)}${'.'.repeat(width - filled)}`;
    const downloading = download?.();
    output.error(
      `\rloading [${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ${sizeOf(progress.loadedBytes)}/${sizeOf(progress.totalBytes)} · ${progress.loadedTensors}/${progress.totalTensors} tensors${downloading === undefined ? '' : ` · ${downloadLine(downloading)}`}${progress.done ? '\n' : ''}`,
    );
  };
}

/** Loads MODEL on the chosen backend with a progress bar; returns the pipeline and a release function. */
export async function loadForCommand(
  model: string,
  values: Record<string, unknown>,
  output: CommandOutput,
  overrides: { contextLength?: number } = {},
): Promise<{ pipeline: TextPipeline; backendName: string; release: () => Promise<void> }> {
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
