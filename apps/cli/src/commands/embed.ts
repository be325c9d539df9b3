import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { StrataError } from '@strata/core';
import { EmbeddingPipeline } from '@strata/pipeline';
import type { Command, CommandOutput } from '../command.js';
import { chooseBackend } from './backend-choice.js';

const USAGE = `Usage: strata embed MODEL [--input TEXTS.json] [--pooling mean|cls|last] [--normalize|--no-normalize]
                    [--truncate] [--batch-size N] [--backend cpu|webgpu]

Embeds texts and prints {"model", "dimensions", "embeddings": [[…], …]} as JSON on stdout.
  MODEL              a .gguf embedding model (bert) or a Hugging Face / sentence-transformers directory; a decoder
                     (qwen3, …) gives last-token embeddings (write any instruction prefix into the texts)
  --input TEXTS.json a JSON array of strings; without it, standard input holds the JSON array (or one text)
  --pooling          replace the model's pooling
  --normalize        L2-normalize (--no-normalize: do not); default: the model's setting
  --truncate         cut texts longer than the model's maximum instead of failing
Exit codes: 0 done, 2 bad arguments, 1 other failures.`;

async function readInput(path: string | undefined): Promise<unknown> {
  let text: string;
  if (path === undefined) {
    const chunks: Buffer[] = [];
    for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
    text = Buffer.concat(chunks).toString('utf8');
    const trimmed = text.trim();
    if (!trimmed.startsWith('[')) return [text.replace(/\n$/, '')];
  } else {
    try {
      text = await readFile(path, 'utf8');
    } catch (cause) {
      throw new StrataError('IO_ERROR', `Could not read ${path}.`, { cause, details: { path } });
    }
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new StrataError('INVALID_ARGUMENT', `The input is not valid JSON: ${(cause as Error).message}`, { cause });
  }
}

async function run(argv: readonly string[], output: CommandOutput): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: {
        input: { type: 'string' },
        pooling: { type: 'string' },
        normalize: { type: 'boolean' },
        'no-normalize': { type: 'boolean' },
        truncate: { type: 'boolean' },
        'batch-size': { type: 'string' },
        backend: { type: 'string' },
      },
    }));
  } catch (error) {
    output.error(`strata embed: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const pooling = values.pooling;
  const batchSize = values['batch-size'] === undefined ? undefined : Number(values['batch-size']);
  const problem =
    positionals.length !== 1
      ? 'give exactly one MODEL.'
      : pooling !== undefined && pooling !== 'mean' && pooling !== 'cls' && pooling !== 'last'
        ? `--pooling ${String(pooling)}: choose mean, cls or last.`
        : values.normalize === true && values['no-normalize'] === true
          ? 'give --normalize or --no-normalize, not both.'
          : batchSize !== undefined && !(Number.isInteger(batchSize) && batchSize > 0)
            ? '--batch-size must be a positive integer.'
            : undefined;
  if (problem !== undefined) {
    output.error(`strata embed: ${problem}\n${USAGE}\n`);
    return 2;
  }
  const texts = await readInput(values.input as string | undefined);
  if (!Array.isArray(texts) || texts.some((text) => typeof text !== 'string')) {
    output.error('strata embed: the input must be a JSON array of strings.\n');
    return 2;
  }
  const model = positionals[0] as string;
  const chosen = await chooseBackend(values.backend, output);
  try {
    const pipeline = await EmbeddingPipeline.load(model, { backend: chosen.backend });
    try {
      const normalize = values.normalize === true ? true : values['no-normalize'] === true ? false : undefined;
      const vectors = await pipeline.embed(texts as string[], {
        truncate: values.truncate === true,
        ...(pooling === undefined ? {} : { pooling: pooling as 'mean' | 'cls' | 'last' }),
        ...(normalize === undefined ? {} : { normalize }),
        ...(batchSize === undefined ? {} : { batchSize }),
      });
      const rows = vectors.map((vector) => JSON.stringify(Array.from(vector)));
      output.out(
        `{"model": ${JSON.stringify(model)}, "dimensions": ${pipeline.dimensions}, "embeddings": [\n${rows.join(',\n')}\n]}\n`,
      );
      return 0;
    } finally {
      pipeline.dispose();
    }
  } finally {
    chosen.release();
  }
}

/** `strata embed`: texts → sentence embeddings as JSON. */
export const embedCommand: Command = {
  name: 'embed',
  summary: 'Embed texts with an embedding model (BERT, sentence-transformers, Qwen3-Embedding); prints JSON vectors',
  usage: USAGE,
  run,
};
