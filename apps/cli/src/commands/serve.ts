import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { StrataError } from '@strata/core';
import type { CacheProgress } from '@strata/loaders';
import { type ApiModel, type EmbeddingApiModel, EmbeddingPipeline, loadScheduler } from '@strata/pipeline';
import { startServer } from '@strata/server';
import type { Command, CommandOutput } from '../command.js';
import { chooseBackend } from './backend-choice.js';
import { openModelArgument } from './model-argument.js';
import { cacheTypeOption, numberOption, progressBar } from './pipeline-setup.js';

const USAGE = `Usage: strata serve MODEL [options]
       strata serve --model NAME=PATH [--model NAME=PATH …] [options]

An OpenAI-compatible server (POST /v1/chat/completions, POST /v1/completions, GET /v1/models, /health, /metrics).
  MODEL                  a .gguf file or a Hugging Face model directory, served under its file name,
                         or a URL (http(s)://…, hf://owner/repo[/file.gguf]; cached in $STRATA_CACHE)
  --model NAME=PATH      a model served as NAME (repeatable: requests pick one with "model")
  --embedding-model NAME=PATH
                         an embedding model (BERT, sentence-transformers folder, bert GGUF) for POST /v1/embeddings
  --host H               interface to bind (default 127.0.0.1, loopback only)
  --port P               port (default 8080; 0 picks a free one)
  --parallel N           sequences running at once per model (default 4)
  --ctx N                context length per sequence (default 4096, capped by the model)
  --kv-budget BYTES      KV memory per model, e.g. 512MiB or 2GiB (default: --parallel full contexts)
  --page-size N          tokens per KV page (default 16)
  --api-key KEY          require "Authorization: Bearer KEY" (every route but /health)
  --cors ORIGIN          allow this origin (CORS is off otherwise)
  --backend cpu|webgpu   default: webgpu when an adapter exists, else cpu
  --chunk-size N         prefill rows per step (default 256)
  --cache-type f32|f16|q8_0
                         KV cache numerics and storage (default f32; q8_0: 34 bytes per 32 values)
  --int8-prefill         WebGPU: steps of more than 32 rows multiply Q8_0/Q4_K weights with 8-bit activations
                         (faster prefill; a request's tokens may then depend on the requests sharing its steps
                         and on prefix-cache hits, as in llama-server; off by default, so they do not)
  --int8-batch N         WebGPU: decode steps of N or more sequences (2…32) multiply Q4_K/Q6_K/Q8_0 weights with
                         8-bit activations (faster with many clients, e.g. 16; tokens may then depend on the batch,
                         as above; off by default)
  --int8-gemm            with --int8-batch: those products with Q4_K/Q8_0 weights on the int8 GEMM where the
                         adapter has subgroup matrices (not yet measured against the default; off by default)
  --eager-decode         record every kernel of every decode step again instead of replaying a step captured
                         once per number of sequences (same tokens; slower: the replay is the default)
  --no-warmup            WebGPU: start serving without the warm-up generations that build the kernels of the
                         first requests' shapes (they are then built during those requests)
SIGINT or SIGTERM shuts down gracefully. Exit codes: 0 after a shutdown, 2 bad arguments, 1 other failures.`;

const parse = (argv: readonly string[]) =>
  parseArgs({
    args: [...argv],
    allowPositionals: true,
    strict: true,
    options: {
      model: { type: 'string', multiple: true },
      'embedding-model': { type: 'string', multiple: true },
      host: { type: 'string' },
      port: { type: 'string' },
      parallel: { type: 'string' },
      ctx: { type: 'string', short: 'c' },
      'kv-budget': { type: 'string' },
      'page-size': { type: 'string' },
      'api-key': { type: 'string' },
      cors: { type: 'string' },
      backend: { type: 'string' },
      'chunk-size': { type: 'string' },
      'cache-type': { type: 'string' },
      'int8-prefill': { type: 'boolean' },
      'int8-batch': { type: 'string' },
      'int8-gemm': { type: 'boolean' },
      'no-warmup': { type: 'boolean' },
      'eager-decode': { type: 'boolean' },
    },
  });

const UNITS: Readonly<Record<string, number>> = {
  '': 1,
  b: 1,
  k: 1e3,
  kb: 1e3,
  kib: 2 ** 10,
  m: 1e6,
  mb: 1e6,
  mib: 2 ** 20,
  g: 1e9,
  gb: 1e9,
  gib: 2 ** 30,
};

/** `--kv-budget`: bytes, with an optional unit (KB, KiB, MB, MiB, GB, GiB); undefined when absent. */
export function byteSize(text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text);
  const unit = UNITS[match?.[2]?.toLowerCase() ?? 'none'];
  if (match === null || unit === undefined) {
    throw new StrataError('INVALID_ARGUMENT', `--kv-budget ${text}: give bytes, e.g. 536870912, 512MiB or 2GiB.`);
  }
  return Math.floor(Number(match[1]) * unit);
}

/** `NAME=PATH` pairs of a repeatable option (`--model`, `--embedding-model`). */
function namedPaths(option: string, entries: readonly string[] | undefined): [string, string][] {
  return (entries ?? []).map((entry) => {
    const at = entry.indexOf('=');
    if (at <= 0 || at === entry.length - 1) {
      throw new StrataError('INVALID_ARGUMENT', `--${option} ${entry}: write NAME=PATH.`);
    }
    return [entry.slice(0, at), entry.slice(at + 1)];
  });
}

/** The models to serve: `NAME=PATH` pairs from `--model`, or the positional MODEL named after its file. */
function modelsOf(
  positionals: readonly string[],
  models: readonly string[] | undefined,
  embeddingModels: number,
): [string, string][] {
  const pairs: [string, string][] = positionals.map((path) => [
    basename(path.replace(/[#?].*$/, '').replace(/\/$/, '')).replace(/\.gguf$/i, ''),
    path,
  ]);
  pairs.push(...namedPaths('model', models));
  if (pairs.length === 0 && embeddingModels === 0) {
    throw new StrataError('INVALID_ARGUMENT', 'Give a MODEL or at least one --model NAME=PATH.');
  }
  return pairs;
}

/** Resolves on the first SIGINT or SIGTERM. */
function shutdownSignal(): Promise<string> {
  return new Promise((resolve) => {
    const stop = (signal: string) => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve(signal);
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
}

/**
 * Runs `strata serve`: loads the models, starts the server, prints the ready line, then waits for `stop` (default:
 * SIGINT/SIGTERM) and shuts down gracefully.
 */
export async function runServe(
  argv: readonly string[],
  output: CommandOutput,
  stop: Promise<unknown> = shutdownSignal(),
): Promise<number> {
  let parsed: ReturnType<typeof parse>;
  let models: [string, string][];
  let embeddingModels: [string, string][];
  let settings: {
    port?: number;
    parallel?: number;
    contextLength?: number;
    kvCacheBytes?: number;
    pageSize?: number;
    chunkSize?: number;
  };
  let int8Batch: number | undefined;
  try {
    parsed = parse(argv);
    embeddingModels = namedPaths('embedding-model', parsed.values['embedding-model']);
    models = modelsOf(parsed.positionals, parsed.values.model, embeddingModels.length);
    cacheTypeOption(parsed.values);
    const number = (name: string) => numberOption(parsed.values, name);
    int8Batch = number('int8-batch');
    if (int8Batch !== undefined && !(Number.isInteger(int8Batch) && int8Batch >= 2 && int8Batch <= 32)) {
      throw new StrataError('INVALID_ARGUMENT', `--int8-batch ${int8Batch}: give a number of sequences from 2 to 32.`);
    }
    if (parsed.values['int8-gemm'] === true && int8Batch === undefined) {
      throw new StrataError('INVALID_ARGUMENT', '--int8-gemm changes the products of --int8-batch N: give both.');
    }
    const entries = {
      port: number('port'),
      parallel: number('parallel'),
      contextLength: number('ctx'),
      kvCacheBytes: byteSize(parsed.values['kv-budget']),
      pageSize: number('page-size'),
      chunkSize: number('chunk-size'),
    };
    settings = Object.fromEntries(Object.entries(entries).filter(([, value]) => value !== undefined));
  } catch (error) {
    if (StrataError.isInstance(error) || (error as { code?: string }).code?.startsWith('ERR_PARSE_ARGS')) {
      output.error(`strata serve: ${(error as Error).message}\n${USAGE}\n`);
      return 2;
    }
    throw error;
  }
  const { values } = parsed;
  // f32 activations unless asked (prefill and batched decode): a step's rows then give the tokens they give alone,
  // whatever else shares the step.
  const chosen = await chooseBackend(values.backend, output, {
    int8Prefill: values['int8-prefill'] === true,
    int8BatchRows: int8Batch ?? 0,
    int8BatchGemm: values['int8-gemm'] === true,
  });
  const served: ApiModel[] = [];
  const embedders: EmbeddingApiModel[] = [];
  try {
    const cacheType = cacheTypeOption(values);
    for (const [name, path] of models) {
      output.error(`strata: loading ${name} from ${path}\n`);
      const { port: _port, ...runtime } = settings;
      let download: CacheProgress | undefined;
      const opened = await openModelArgument(path, output, {
        onDownload: (progress) => {
          download = progress;
        },
      });
      const scheduler = await loadScheduler(opened.files, {
        backend: chosen.backend,
        onProgress: progressBar(output, () => download),
        ...runtime,
        ...(cacheType === undefined ? {} : { cacheType }),
        capturedDecode: values['eager-decode'] !== true,
      });
      await opened.completed;
      served.push({ name, scheduler });
      // Kernels are built on first use on WebGPU: build those of the first requests' shapes now.
      if (chosen.backend.name === 'webgpu' && values['no-warmup'] !== true) {
        const started = performance.now();
        const runs = await scheduler.warmUp();
        output.error(
          `strata: warmed up ${name} (${runs} short generations, ${Math.round(performance.now() - started)} ms)\n`,
        );
      }
    }
    for (const [name, path] of embeddingModels) {
      output.error(`strata: loading embedding model ${name} from ${path}\n`);
      const opened = await openModelArgument(path, output, {});
      embedders.push({ name, embeddings: await EmbeddingPipeline.load(opened.files, { backend: chosen.backend }) });
      await opened.completed;
    }
    const server = await startServer({
      models: served,
      embeddingModels: embedders,
      ...(values.host === undefined ? {} : { host: values.host }),
      port: settings.port ?? 8080,
      ...(values['api-key'] === undefined ? {} : { apiKey: values['api-key'] }),
      ...(values.cors === undefined ? {} : { corsOrigin: values.cors }),
    });
    const names = [...served, ...embedders].map(({ name }) => name).join(', ');
    output.out(`strata: serving ${names} on ${server.url} (OpenAI API at ${server.url}/v1) [${chosen.backend.name}]\n`);
    await stop;
    output.error('strata: shutting down\n');
    await server.shutdown();
    return 0;
  } catch (error) {
    await Promise.all(served.map(({ scheduler }) => scheduler.close()));
    for (const { embeddings } of embedders) embeddings.dispose();
    throw error;
  } finally {
    chosen.release();
  }
}

/** `strata serve MODEL`: the OpenAI-compatible server. */
export const serveCommand: Command = {
  name: 'serve',
  summary: 'serve models over an OpenAI-compatible HTTP API',
  usage: USAGE,
  run: (argv, output) => runServe(argv, output),
};
