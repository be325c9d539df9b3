import { parseArgs } from 'node:util';
import { type Backend, StrataError } from '@strata/core';
import { openModelFiles } from '@strata/loaders/node';
import { type CompleteTransformer, loadModel } from '@strata/models';
import type { Command, CommandOutput } from '../command.js';
import { chooseBackend } from './pipeline-setup.js';

const USAGE = `Usage: strata logits MODEL --ids 1,2,3 [--backend cpu|webgpu]

Runs the token ids through the model in one step and prints {"logits": [[…], …]} (one row per position) on stdout.
  MODEL                  a .gguf file or a Hugging Face model directory (config.json + safetensors)
  --ids IDS              comma-separated token ids
  --backend cpu|webgpu   default: webgpu when an adapter exists, else cpu
Exit codes: 0 done, 2 bad arguments, 1 other failures.`;

function parseIds(text: string): number[] {
  const ids = text.split(',').map((part) => part.trim());
  if (ids.length === 0 || ids.some((id) => !/^\d+$/.test(id))) {
    throw new StrataError(
      'INVALID_ARGUMENT',
      `--ids ${text}: give comma-separated non-negative integers, e.g. --ids 1,2,3.`,
    );
  }
  return ids.map(Number);
}

/** Logits of every position of `ids`, computed in one prefill step with fresh caches. */
async function logitsOf(model: CompleteTransformer, backend: Backend, ids: readonly number[]): Promise<Float32Array> {
  for (const id of ids) {
    if (id >= model.vocabularySize) {
      throw new StrataError(
        'TOKEN_OUT_OF_RANGE',
        `Token id ${id} is outside the vocabulary of ${model.vocabularySize}.`,
        { details: { id } },
      );
    }
  }
  const caches = model.cacheSpecs.map((spec) => ({
    keys: backend.zeros([ids.length, spec.keyValueWidth]),
    values: backend.zeros([ids.length, spec.keyValueWidth]),
  }));
  const input = backend.upload(Int32Array.from(ids), [ids.length]);
  const hidden = model.embed(input);
  const transformed = model.transform(hidden, { backend, firstPosition: 0, caches });
  const logits = model.lmHead(transformed);
  return (await backend.read(logits)) as Float32Array;
}

async function run(argv: readonly string[], output: CommandOutput): Promise<number> {
  let parsed: ReturnType<
    typeof parseArgs<{ options: { ids: { type: 'string' }; backend: { type: 'string' } }; allowPositionals: true }>
  >;
  try {
    parsed = parseArgs({
      args: [...argv],
      options: { ids: { type: 'string' }, backend: { type: 'string' } },
      allowPositionals: true,
    });
  } catch (error) {
    output.error(`strata logits: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const [model, ...extra] = parsed.positionals;
  if (model === undefined || extra.length > 0 || parsed.values.ids === undefined) {
    output.error(`strata logits: give one MODEL and --ids.\n${USAGE}\n`);
    return 2;
  }
  let ids: number[];
  try {
    ids = parseIds(parsed.values.ids);
  } catch (error) {
    output.error(`strata logits: ${(error as Error).message}\n`);
    return 2;
  }
  const files = await openModelFiles(model);
  const chosen = await chooseBackend(parsed.values.backend, output);
  try {
    const loaded = await loadModel(files, chosen.backend);
    const values = await logitsOf(loaded, chosen.backend, ids);
    loaded.dispose();
    const vocabulary = loaded.vocabularySize;
    const rows = ids.map((_, row) => {
      const slice = values.subarray(row * vocabulary, (row + 1) * vocabulary);
      return `[${Array.from(slice, (value) => Number(value.toPrecision(9))).join(',')}]`;
    });
    output.out(`{"logits": [${rows.join(',\n')}]}\n`);
    return 0;
  } finally {
    chosen.release();
  }
}

/** `strata logits`: the model's logits for given token ids, as JSON. */
export const logitsCommand: Command = {
  name: 'logits',
  summary: 'Print the logits of every position for token ids (GGUF or Hugging Face directory)',
  usage: USAGE,
  run,
};
