import { parseArgs } from 'node:util';
import { isModelUrl, resolveModelUrl } from '@strata/loaders';
import { defaultCacheDirectory } from '@strata/loaders/node';
import type { Command, CommandOutput } from '../command.js';
import { cliModelCache } from './model-argument.js';

const USAGE = `Usage: strata cache ls [--json]
       strata cache rm URL... | --all

Lists or deletes the models downloaded by URL (cache folder: $STRATA_CACHE, else ~/.cache/strata).
  ls      one line per file: size, complete or partial (a partial download resumes on the next load), last use, URL
  rm URL  deletes the cached file of URL (as listed by ls, or an hf:// path) and what is kept beside it (URL#…);
          a folder's URL (ending in /) deletes every file under it; --all deletes every file`;

function sizeOf(bytes: number): string {
  if (bytes >= 2 ** 30) return `${(bytes / 2 ** 30).toFixed(2)} GiB`;
  if (bytes >= 2 ** 20) return `${(bytes / 2 ** 20).toFixed(1)} MiB`;
  if (bytes >= 2 ** 10) return `${(bytes / 2 ** 10).toFixed(1)} KiB`;
  return `${bytes} B`;
}

async function list(json: boolean, output: CommandOutput): Promise<number> {
  const cache = cliModelCache();
  const entries = await cache.list();
  if (json) {
    output.out(`${JSON.stringify({ directory: defaultCacheDirectory(), entries }, null, 2)}\n`);
    return 0;
  }
  output.out(`${defaultCacheDirectory()}: ${entries.length} files, ${sizeOf(await cache.totalSize())}\n`);
  for (const entry of entries) {
    const state = entry.complete
      ? 'complete'
      : `partial ${((entry.byteLength / Math.max(1, entry.totalBytes)) * 100).toFixed(0)}%`;
    const used = new Date(entry.lastUsed).toISOString().slice(0, 16).replace('T', ' ');
    output.out(`${sizeOf(entry.byteLength).padStart(10)}  ${state.padEnd(12)} ${used}  ${entry.url}\n`);
  }
  return 0;
}

async function remove(urls: readonly string[], all: boolean, output: CommandOutput): Promise<number> {
  const cache = cliModelCache();
  if (all) {
    const count = (await cache.list()).length;
    await cache.clear();
    output.out(`deleted ${count} files\n`);
    return 0;
  }
  let missing = 0;
  const entries = await cache.list();
  for (const given of urls) {
    const url = given.startsWith('hf://') && isModelUrl(given) ? resolveModelUrl(given).url : given;
    const matching = entries
      .map((entry) => entry.url)
      .filter(
        (cached) => cached === url || cached.startsWith(`${url}#`) || (url.endsWith('/') && cached.startsWith(url)),
      );
    for (const cached of matching) await cache.delete(cached);
    if (matching.length > 0) output.out(`deleted ${url}${matching.length > 1 ? ` (${matching.length} files)` : ''}\n`);
    else {
      missing += 1;
      output.error(`strata cache: ${url} is not in the cache (see strata cache ls).\n`);
    }
  }
  return missing === 0 ? 0 : 1;
}

async function run(argv: readonly string[], output: CommandOutput): Promise<number> {
  let parsed: ReturnType<
    typeof parseArgs<{
      args: string[];
      allowPositionals: true;
      strict: true;
      options: { json: { type: 'boolean' }; all: { type: 'boolean' } };
    }>
  >;
  try {
    parsed = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { json: { type: 'boolean' }, all: { type: 'boolean' } },
    });
  } catch (error) {
    output.error(`strata cache: ${(error as Error).message}\n${USAGE}\n`);
    return 2;
  }
  const [action, ...rest] = parsed.positionals;
  if (action === 'ls' && rest.length === 0 && parsed.values.all !== true)
    return list(parsed.values.json === true, output);
  if (action === 'rm' && rest.length > 0 !== (parsed.values.all === true) && parsed.values.json !== true) {
    return remove(rest, parsed.values.all === true, output);
  }
  output.error(`strata cache: give ls, or rm with URLs or --all.\n${USAGE}\n`);
  return 2;
}

/** `strata cache ls|rm`: the models downloaded by URL. */
export const cacheCommand: Command = {
  name: 'cache',
  summary: 'List or delete the models downloaded by URL (ls, rm URL|--all)',
  usage: USAGE,
  run,
};
