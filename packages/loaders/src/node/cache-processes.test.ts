import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable, Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheKey } from '../cache/cache-key.js';
import { type FileServer, startFileServer } from './testing/file-server.js';

// Two real `strata`-like processes download the same URL into one cache directory at once: the entry lock makes one
// download while the other waits, then reads the complete entry; nothing is written twice and no lock is left.
const root = fileURLToPath(new URL('../../../../', import.meta.url));
const child = fileURLToPath(new URL('./testing/cache-download-child.ts', import.meta.url));
const file = new Uint8Array(randomBytes(6 * 1024 * 1024));
const sha256 = createHash('sha256').update(file).digest('hex');
let server: FileServer;
let scratch: string;

beforeAll(async () => {
  server = await startFileServer({ '/model.gguf': file });
  // A slow link (about 1.5 s for the file), so that the second process asks while the first downloads.
  server.pace('/model.gguf', 256 * 1024, 60);
  scratch = await mkdtemp(join(tmpdir(), 'strata-cache-processes-'));
});
afterAll(async () => {
  await server.close();
  await rm(scratch, { recursive: true, force: true });
});

type Child = ChildProcessByStdio<Writable, Readable, Readable>;

/** Starts a child that opens `url` in `directory`; resolves once it is ready (its imports are done). */
async function start(url: string, directory: string): Promise<{ process: Child; output: Promise<string> }> {
  const process = spawn(
    `${root}node_modules/.bin/tsx`,
    ['--tsconfig', `${root}tsconfig.json`, child, url, directory, sha256],
    { stdio: ['pipe', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  process.stderr.on('data', (chunk) => (stderr += chunk));
  const ready = new Promise<void>((resolve, reject) => {
    process.stdout.on('data', (chunk) => {
      stdout += chunk;
      if (stdout.startsWith('ready\n')) resolve();
    });
    process.on('exit', (code) => reject(new Error(`the child exited (${code}) before it was ready:\n${stderr}`)));
  });
  const output = new Promise<string>((resolve, reject) =>
    process.on('exit', (code) =>
      code === 0
        ? resolve(stdout.slice('ready\n'.length))
        : reject(new Error(`the child failed (${code}):\n${stderr}`)),
    ),
  );
  await ready;
  return { process, output };
}

describe('the directory cache shared by two processes', () => {
  it('two processes opening the same URL at once: one downloads, the other waits and reads the complete entry', async () => {
    const url = `${server.base}/model.gguf`;
    const directory = join(scratch, 'cache');
    const children = await Promise.all([start(url, directory), start(url, directory)]);
    for (const { process } of children) process.stdin.end('go\n');
    const results = (await Promise.all(children.map(({ output }) => output))).map(
      (line) => JSON.parse(line) as { from: string; sha256: string },
    );
    // Both read the file's bytes; one came from the network, the other from the entry the first one stored.
    expect(results.map((result) => result.sha256)).toEqual([sha256, sha256]);
    expect(results.map((result) => result.from).sort()).toEqual(['cache', 'network']);
    // One request for the file: nothing was downloaded twice.
    expect(server.requests.filter((request) => request.path === '/model.gguf')).toHaveLength(1);
    // One complete, verified, byte-identical entry, and no lock or temporary file left.
    const key = cacheKey(url);
    expect((await readdir(directory)).sort()).toEqual([`${key}.bin`, `${key}.json`]);
    const record = JSON.parse(await readFile(join(directory, `${key}.json`), 'utf8')) as Record<string, unknown>;
    expect(record).toMatchObject({ url, byteLength: file.byteLength, complete: true, sha256 });
    // (Buffer.equals: a deep equality over 6 MiB of elements takes a minute.)
    expect(Buffer.from(file).equals(await readFile(join(directory, `${key}.bin`)))).toBe(true);
  }, 60_000);
});
