/**
 * A child process of the cache-lock test: waits for `go` on stdin, opens URL through a directory cache, reads every
 * byte and waits for the download to be stored, then prints `{ from, sha256 }` of what it read as one JSON line.
 *
 *   tsx cache-download-child.ts URL DIRECTORY SHA256
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { ModelCache } from '../../cache/model-cache.js';
import { directoryCacheStore } from '../directory-cache-store.js';

const [url, directory, sha256] = process.argv.slice(2);
if (url === undefined || directory === undefined || sha256 === undefined) {
  process.stderr.write('usage: cache-download-child.ts URL DIRECTORY SHA256\n');
  process.exit(2);
}
process.stdout.write('ready\n');
await once(process.stdin, 'data');
const cache = new ModelCache(directoryCacheStore(directory));
const source = await cache.open(url, { sha256 });
const hash = createHash('sha256');
const piece = 1 << 20;
for (let offset = 0; offset < source.byteLength; offset += piece) {
  hash.update(await source.read(offset, Math.min(piece, source.byteLength - offset)));
}
await source.completed;
process.stdout.write(`${JSON.stringify({ from: source.from, sha256: hash.digest('hex') })}\n`);
