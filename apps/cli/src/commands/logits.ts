import { parseArgs } from 'node:util';
import { StrataError } from '@strata/core';
import { forwardLogits, loadModel } from '@strata/models';
import type { Command, CommandOutput } from '../command.js';
import { checkBackendName, chooseBackend } from './backend-choice.js';
import { openModelArgument } from './model-argument.js';

const USAGE = `Usage: strata logits MODEL --ids 1,2,3 [--backend cpu|webgpu]

Runs the token ids through the model in one step and prints {"logits": [[…], …]} (one row per position) on stdout.
  MODEL                  a .gguf file or a Hugging Face model directory (config.json + safetensors),
                         or a URL (http(s)://…, hf://owner/repo[/file.gguf]; cached in $STRATA_CACHE)
  --ids IDS              comma-separated token ids
  --backend cpu|webgpu   default: webgpu on a hardware adapter, else cpu (software adapters are slower)
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
    checkBackendName(parsed.values.backend);
  } catch (error) {
    output.error(`strata logits: ${(error as Error).message}\n`);
    return 2;
  }
  const { files, completed } = await openModelArgument(model, output);
  const chosen = await chooseBackend(parsed.values.backend, output);
  try {
    const loaded = await loadModel(files, chosen.backend);
    await completed;
    const logits = await forwardLogits(loaded, chosen.backend, ids);
    loaded.dispose();
    const rows = logits.map((row) => `[${Array.from(row, (value) => Number(value.toPrecision(9))).join(',')}]`);
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
