/**
 * Host memory while a model streams from a URL through the cache: a synthetic GGUF (`--megabytes N` of 8 MiB tensors,
 * default 512) served by a separate process on 127.0.0.1, opened with `openModelUrl` and a directory cache, every tensor
 * read through `TensorStore.streamBytes` as a loader uploading to GPU buffers does. Prints the peak `rss` above the
 * baseline for the download (network → cache → reader) and for a second load from the cache. The bound to compare with
 * is the largest tensor + 64 MiB. Run with `pnpm exec tsx --tsconfig ../../tsconfig.json bench/cache-memory.bench.ts`.
 */
import { fork } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type GgufWriteTensor, ModelCache, openModelUrl } from '../src/index.js';
import { directoryCacheStore, writeGgufFile } from '../src/node.js';

const SERVER = `
const { createServer } = require('node:http');
const { createReadStream, statSync } = require('node:fs');
const path = process.argv[2];
const size = statSync(path).size;
const server = createServer((request, response) => {
  const range = /^bytes=(\\d+)-(\\d*)$/.exec(request.headers.range ?? '');
  const start = range ? Number(range[1]) : 0;
  const end = range && range[2] !== '' ? Math.min(Number(range[2]), size - 1) : size - 1;
  response.writeHead(range ? 206 : 200, {
    'content-length': end - start + 1,
    ...(range ? { 'content-range': 'bytes ' + start + '-' + end + '/' + size } : {}),
  });
  createReadStream(path, { start, end }).pipe(response);
});
server.listen(0, '127.0.0.1', () => process.send(server.address().port));
`;

const megabytesOption = process.argv.indexOf('--megabytes');
const megabytes = megabytesOption >= 0 ? Number(process.argv[megabytesOption + 1]) : 512;
const tensorBytes = 8 * 1024 * 1024;
const count = Math.max(1, Math.round((megabytes * 1024 * 1024) / tensorBytes));
const scratch = mkdtempSync(join(tmpdir(), 'strata-cache-bench-'));
const modelPath = join(scratch, 'model.gguf');
const tensors: GgufWriteTensor[] = Array.from({ length: count }, (_, index) => ({
  name: `t${index}`,
  type: 'F32',
  shape: [tensorBytes / 4096, 1024],
  data: async function* () {
    for (let row = 0; row < tensorBytes / 4096; row++) yield new Uint8Array(4096).fill(index & 255);
  },
}));
await writeGgufFile(modelPath, { metadata: [], tensors });

// The server runs in its own process so that its buffers do not count in this process's rss.
const serverPath = join(scratch, 'server.cjs');
writeFileSync(serverPath, SERVER);
const child = fork(serverPath, [modelPath], { stdio: ['ignore', 'ignore', 'inherit', 'ipc'] });
const port = await new Promise<number>((resolve) => child.once('message', (value) => resolve(Number(value))));
const url = `http://127.0.0.1:${port}/model.gguf`;
const cache = new ModelCache(directoryCacheStore(join(scratch, 'cache')));
const mebibytes = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

async function measure(label: string): Promise<void> {
  globalThis.gc?.();
  const baseline = process.memoryUsage().rss;
  let peak = baseline;
  const sampler = setInterval(() => {
    peak = Math.max(peak, process.memoryUsage().rss);
  }, 10);
  const started = performance.now();
  const opened = await openModelUrl(url, { cache });
  let bytes = 0;
  for (const name of opened.files.tensors.tensors.keys()) {
    for await (const chunk of opened.files.tensors.streamBytes(name)) bytes += chunk.byteLength;
  }
  await opened.completed;
  clearInterval(sampler);
  peak = Math.max(peak, process.memoryUsage().rss);
  const seconds = (performance.now() - started) / 1000;
  console.log(
    `${label.padEnd(22)} ${mebibytes(bytes)} of tensors in ${seconds.toFixed(2)} s (${opened.from}); rss baseline ${mebibytes(baseline)}, peak ${mebibytes(peak)}, peak above baseline ${mebibytes(peak - baseline)}`,
  );
}

console.log(
  `file ${mebibytes(count * tensorBytes)} in ${count} tensors of ${mebibytes(tensorBytes)}; bound = ${mebibytes(tensorBytes + 64 * 2 ** 20)}`,
);
await measure('network → cache → read');
await measure('cache → read');
child.kill();
rmSync(scratch, { recursive: true, force: true });
