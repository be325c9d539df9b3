/**
 * Time to first token of a model loaded by URL, the way a user meets it: a loopback HTTP server serves a GGUF file,
 * the first load downloads it into an empty cache directory (cold), the second reads it back from the cache without the
 * network (cached). Each phase creates its own backend, so kernels are compiled again (Dawn keeps no pipeline cache
 * across devices; a driver's own shader cache may help the second phase, which the report cannot see).
 *
 *   pnpm exec tsx --conditions=@strata/source packages/pipeline/bench/url-ttft.ts FILE [--backend webgpu|cpu]
 */
import { createReadStream, mkdtempSync, rmSync, statSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { parseArgs } from 'node:util';
import type { Backend } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { createWebGpuBackend } from '@strata/kernels-webgpu';
import { ModelCache, openModelUrl } from '@strata/loaders';
import { directoryCacheStore } from '@strata/loaders/node';
import { TextPipeline } from '@strata/pipeline';

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: { backend: { type: 'string', default: 'webgpu' } },
});
const path = positionals[0];
if (path === undefined) throw new Error('usage: url-ttft.ts FILE [--backend webgpu|cpu]');
const size = statSync(path).size;

// A static file server with range requests (what the cache's resume path uses).
const server = createServer((request, response) => {
  const range = /bytes=(\d+)-(\d*)/.exec(request.headers.range ?? '');
  const start = range === null ? 0 : Number(range[1]);
  const end = range === null || range[2] === '' ? size - 1 : Number(range[2]);
  response.writeHead(range === null ? 200 : 206, {
    'content-length': String(end - start + 1),
    'accept-ranges': 'bytes',
    ...(range === null ? {} : { 'content-range': `bytes ${start}-${end}/${size}` }),
  });
  if (request.method === 'HEAD') response.end();
  else createReadStream(path, { start, end }).pipe(response);
});
await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/${basename(path)}`;
const directory = mkdtempSync(join(tmpdir(), 'strata-ttft-'));

async function phase(name: 'cold' | 'cached'): Promise<Record<string, unknown>> {
  const started = performance.now();
  const backend: Backend =
    values.backend === 'cpu' ? createCpuBackend() : await createWebGpuBackend({ powerPreference: 'high-performance' });
  const cache = new ModelCache(directoryCacheStore(directory));
  const opened = await openModelUrl(url, { cache });
  const pipeline = await TextPipeline.load(opened.files, { backend, contextLength: 256 });
  const loaded = performance.now();
  const { tokens } = await pipeline.generate([1, 2, 3, 4], {
    maxTokens: 1,
    temperature: 0,
    ignoreEndOfGeneration: true,
  }).result;
  const firstToken = performance.now();
  await opened.completed;
  await pipeline.dispose();
  (backend as { destroy?: () => void }).destroy?.();
  return {
    phase: name,
    from: opened.from,
    loadSeconds: (loaded - started) / 1000,
    timeToFirstTokenSeconds: (firstToken - started) / 1000,
    tokens: tokens.length,
  };
}

try {
  const report = {
    file: basename(path),
    bytes: size,
    backend: values.backend,
    phases: [await phase('cold'), await phase('cached')],
  };
  process.stdout.write(`${JSON.stringify(report)}\n`);
} finally {
  server.close();
  rmSync(directory, { recursive: true, force: true });
}
