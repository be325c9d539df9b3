import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cacheCommand } from './cache.js';
import { inspectCommand } from './inspect.js';
import { runCommand } from './run.js';
import { tokenizeCommand } from './tokenize.js';

const LLAMA = fileURLToPath(new URL('../../../../../shared/fixtures/models/llama/', import.meta.url));
const FOLDER_FILES = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'chat_template.jinja',
  'model.safetensors',
];

let server: Server;
let base = '';
let scratch = '';
let previousCache: string | undefined;
const files = new Map<string, Uint8Array>();
const requested: string[] = [];

function capture() {
  const sink = { out: '', error: '' };
  return { sink, output: { out: (text: string) => (sink.out += text), error: (text: string) => (sink.error += text) } };
}

beforeAll(async () => {
  files.set('/llama/model-f32.gguf', new Uint8Array(await readFile(join(LLAMA, 'model-f32.gguf'))));
  for (const name of FOLDER_FILES) files.set(`/llama/${name}`, new Uint8Array(await readFile(join(LLAMA, name))));
  // A static server with single ranges, as Hugging Face's CDN answers.
  server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://x').pathname;
    requested.push(path);
    const file = files.get(path);
    if (file === undefined) {
      response.writeHead(404).end();
      return;
    }
    const range = /^bytes=(\d+)-(\d*)$/.exec(request.headers.range ?? '');
    if (range === null) {
      response.writeHead(200, { 'content-length': file.byteLength }).end(file);
      return;
    }
    const start = Number(range[1]);
    const end = range[2] === '' ? file.byteLength - 1 : Math.min(Number(range[2]), file.byteLength - 1);
    response
      .writeHead(206, {
        'content-range': `bytes ${start}-${end}/${file.byteLength}`,
        'content-length': end - start + 1,
      })
      .end(file.subarray(start, end + 1));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  scratch = await mkdtemp(join(tmpdir(), 'strata-cli-cache-'));
  previousCache = process.env.STRATA_CACHE;
  process.env.STRATA_CACHE = join(scratch, 'cache');
});

afterAll(async () => {
  if (previousCache === undefined) delete process.env.STRATA_CACHE;
  else process.env.STRATA_CACHE = previousCache;
  server.close();
  await rm(scratch, { recursive: true, force: true });
});

const runArguments = (model: string) => [
  model,
  '-p',
  'def fibonacci(n):',
  '-n',
  '6',
  '--temp',
  '0',
  '--backend',
  'cpu',
  '--ignore-eos',
];

describe('MODEL arguments by URL, and strata cache', () => {
  it('inspect reads a URL with range requests and stores nothing', async () => {
    const { sink, output } = capture();
    expect(await inspectCommand.run([`${base}/llama/model-f32.gguf`, '--no-tensors'], output)).toBe(0);
    expect(sink.out).toMatch(/architecture\s+llama/);
    const listing = capture();
    expect(await cacheCommand.run(['ls', '--json'], listing.output)).toBe(0);
    expect(JSON.parse(listing.sink.out).entries).toEqual([]);
  });

  it('run loads a GGUF and a Hugging Face folder by URL through the cache, then from the cache alone', async () => {
    const local = capture();
    expect(await runCommand.run(runArguments(LLAMA), local.output)).toBe(0);
    for (const url of [`${base}/llama/model-f32.gguf`, `${base}/llama/`]) {
      const remote = capture();
      expect(await runCommand.run(runArguments(url), remote.output)).toBe(0);
      expect(remote.sink.out).toBe(local.sink.out);
      expect(remote.sink.error).toMatch(/download /);
      requested.length = 0;
      const again = capture();
      expect(await runCommand.run(runArguments(url), again.output)).toBe(0);
      expect(again.sink.out).toBe(local.sink.out);
      expect(again.sink.error).toMatch(/from cache/);
      expect(requested).toEqual([]);
    }
    const tokens = capture();
    const input = join(scratch, 'texts.json');
    await writeFile(input, JSON.stringify(['hello world']));
    expect(await tokenizeCommand.run([`${base}/llama/model-f32.gguf`, '--input', input], tokens.output)).toBe(0);
    const localTokens = capture();
    expect(await tokenizeCommand.run([join(LLAMA, 'model-f32.gguf'), '--input', input], localTokens.output)).toBe(0);
    expect(tokens.sink.out).toBe(localTokens.sink.out);
  });

  it('cache ls lists the files, cache rm deletes one or all', async () => {
    const listing = capture();
    expect(await cacheCommand.run(['ls'], listing.output)).toBe(0);
    expect(listing.sink.out).toContain(`complete`);
    expect(listing.sink.out).toContain(`${base}/llama/model-f32.gguf`);
    expect(listing.sink.out).toContain(`${base}/llama/model.safetensors`);

    const removed = capture();
    expect(await cacheCommand.run(['rm', `${base}/llama/model-f32.gguf`], removed.output)).toBe(0);
    expect(await cacheCommand.run(['rm', `${base}/llama/model-f32.gguf`], removed.output)).toBe(1);
    expect(removed.sink.error).toContain('is not in the cache');
    const json = capture();
    await cacheCommand.run(['ls', '--json'], json.output);
    const urls = (JSON.parse(json.sink.out).entries as { url: string }[]).map((entry) => entry.url);
    expect(urls).not.toContain(`${base}/llama/model-f32.gguf`);
    expect(urls).toContain(`${base}/llama/config.json`);
    expect(await cacheCommand.run(['rm', `${base}/llama/`], removed.output)).toBe(0);
    expect(removed.sink.out).toMatch(/deleted .*\/llama\/ \(\d+ files\)/);
    const afterFolder = capture();
    await cacheCommand.run(['ls', '--json'], afterFolder.output);
    expect(JSON.parse(afterFolder.sink.out).entries).toEqual([]);
    const again = capture();
    expect(await runCommand.run(runArguments(`${base}/llama/model-f32.gguf`), again.output)).toBe(0);

    expect(await cacheCommand.run(['rm', '--all'], removed.output)).toBe(0);
    const empty = capture();
    await cacheCommand.run(['ls', '--json'], empty.output);
    expect(JSON.parse(empty.sink.out).entries).toEqual([]);
    expect(await cacheCommand.run(['rm'], removed.output)).toBe(2);
  });
});
