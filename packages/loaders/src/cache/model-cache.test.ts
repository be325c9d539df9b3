import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StrataError } from '@strata/core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ggufValue } from '../gguf/gguf-value.js';
import { directoryCacheStore } from '../node/directory-cache-store.js';
import { writeGgufFile } from '../node/gguf-files.js';
import { openModelFiles } from '../node/model-files.js';
import { type FileServer, startFileServer } from '../node/testing/file-server.js';
import { ModelCache } from './model-cache.js';
import { resolveModelUrl } from './model-url.js';
import { openModelUrl } from './open-model-url.js';

const fixtures = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));
const ggufPath = `${fixtures}models/quant-base/model-Q4_K_M.gguf`;
const folderFiles = [
  'config.json',
  'generation_config.json',
  'tokenizer.json',
  'tokenizer_config.json',
  'chat_template.jinja',
  'model.safetensors',
];

let server: FileServer;
let model: Uint8Array;
let scratch: string;
let directory: string;

const sha256Hex = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');
const codeOf = (code: string) => (error: unknown) => StrataError.isInstance(error) && error.code === code;

beforeAll(async () => {
  model = new Uint8Array(await readFile(ggufPath));
  const served: Record<string, Uint8Array> = { '/model.gguf': model };
  for (const name of folderFiles)
    served[`/llama/${name}`] = new Uint8Array(await readFile(`${fixtures}models/llama/${name}`));
  server = await startFileServer(served);
});
afterAll(() => server.close());
beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'strata-cache-'));
  directory = join(scratch, 'cache');
  server.requests.length = 0;
});
afterEach(() => rm(scratch, { recursive: true, force: true }));

async function storedFile(cache: ModelCache, url: string): Promise<Uint8Array> {
  const size = await cache.store.storedBytes(url);
  return cache.store.read(url, 0, size);
}

describe('ModelCache over a directory, against a local HTTP server', () => {
  it('downloads a GGUF while it is read, then serves it from the cache with no request', async () => {
    const cache = new ModelCache(directoryCacheStore(directory));
    const url = `${server.base}/model.gguf`;
    const reports: { from: string; loadedBytes: number; done: boolean }[] = [];
    const first = await openModelUrl(url, { cache, onProgress: (progress) => reports.push(progress) });
    expect(first.from).toBe('network');
    const local = await openModelFiles(ggufPath);
    for (const name of local.tensors.tensors.keys()) {
      expect(await first.files.tensors.readBytes(name)).toEqual(await local.tensors.readBytes(name));
    }
    await first.completed;
    expect(reports.at(-1)).toMatchObject({ from: 'network', loadedBytes: model.byteLength, done: true });
    expect(await cache.has(url)).toBe(true);
    expect(await storedFile(cache, url)).toEqual(model);
    const [entry] = await cache.list();
    expect(entry).toMatchObject({ url, byteLength: model.byteLength, totalBytes: model.byteLength, complete: true });
    expect(await cache.totalSize()).toBe(model.byteLength);

    const requestsBefore = server.requests.length;
    const second = await openModelUrl(url, { cache });
    expect(second.from).toBe('cache');
    const name = [...local.tensors.tensors.keys()].at(-1) as string;
    expect(await second.files.tensors.readBytes(name)).toEqual(await local.tensors.readBytes(name));
    expect(server.requests.length).toBe(requestsBefore);
  });

  it('reads in place (readInto) while downloading and from the cache, the same bytes as read', async () => {
    const cache = new ModelCache(directoryCacheStore(directory));
    const url = `${server.base}/model.gguf`;
    for (const expected of ['network', 'cache']) {
      const source = await cache.open(url);
      expect(source.from).toBe(expected);
      const target = new Uint8Array(4096);
      for (const offset of [0, 100_000, model.byteLength - 4096]) {
        await source.readInto!(offset, target);
        expect(Buffer.from(target).equals(Buffer.from(model.subarray(offset, offset + 4096)))).toBe(true);
      }
      await source.completed;
    }
  });

  it('resumes a dropped download with a range request on the next load; the file is byte-identical', async () => {
    const cache = new ModelCache(directoryCacheStore(directory));
    const url = `${server.base}/model.gguf`;
    const half = Math.floor(model.byteLength / 2);
    server.dropAfter('/model.gguf', half);
    const first = await cache.open(url, { retries: 0 });
    await expect(first.completed).rejects.toSatisfy(codeOf('NETWORK_ERROR'));
    await expect(first.read(model.byteLength - 10, 10)).rejects.toSatisfy(codeOf('NETWORK_ERROR'));
    expect(await cache.has(url)).toBe(false);
    const [partial] = await cache.list();
    expect(partial?.complete).toBe(false);
    const stored = partial?.byteLength ?? 0;
    expect(stored).toBeGreaterThan(0);
    expect(stored).toBeLessThanOrEqual(half);

    const second = await cache.open(url);
    expect(second.from).toBe('network');
    await second.completed;
    expect(server.requests.at(-1)?.range).toBe(`bytes=${stored}-`);
    expect(server.requests.at(-1)?.status).toBe(206);
    expect(sha256Hex(await storedFile(cache, url))).toBe(sha256Hex(model));
    expect(await cache.has(url)).toBe(true);
  });

  it('resumes a dropped connection within the same load', async () => {
    const cache = new ModelCache(directoryCacheStore(directory));
    const url = `${server.base}/model.gguf`;
    server.dropAfter('/model.gguf', Math.floor(model.byteLength / 3));
    const source = await cache.open(url);
    expect(await source.read(model.byteLength - 4096, 4096)).toEqual(model.subarray(model.byteLength - 4096));
    await source.completed;
    expect(
      server.requests.filter((request) => request.path === '/model.gguf').map((request) => request.range)[1],
    ).toMatch(/^bytes=[1-9]\d*-$/);
    expect(await storedFile(cache, url)).toEqual(model);
  });

  it('verifies the SHA-256 the caller or the server gives; a mismatch removes the entry', async () => {
    const cache = new ModelCache(directoryCacheStore(directory));
    const url = `${server.base}/model.gguf`;
    const wrong = await cache.open(url, { sha256: '0'.repeat(64) });
    await expect(wrong.completed).rejects.toSatisfy(codeOf('INVALID_FILE'));
    expect(await cache.list()).toEqual([]);

    server.sendDigest('/model.gguf', new Uint8Array(32).fill(7));
    const fromServer = await cache.open(url);
    await expect(fromServer.completed).rejects.toSatisfy(codeOf('INVALID_FILE'));
    expect(await cache.has(url)).toBe(false);

    server.sendDigest('/model.gguf');
    await (await cache.open(url)).completed;
    expect((await cache.store.record(url))?.sha256).toBe(sha256Hex(model));
    expect(await cache.has(url)).toBe(true);
    server.sendDigest('/model.gguf', undefined);
  });

  it('cancellation leaves a partial entry (never complete) that the next load resumes', async () => {
    const cache = new ModelCache(directoryCacheStore(directory));
    const url = `${server.base}/model.gguf`;
    server.stallAfter('/model.gguf', Math.floor(model.byteLength / 3));
    const controller = new AbortController();
    const source = await cache.open(url, { signal: controller.signal });
    const waiting = source.read(model.byteLength - 1, 1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    controller.abort();
    await expect(waiting).rejects.toSatisfy(codeOf('ABORTED'));
    await expect(source.completed).rejects.toSatisfy(codeOf('ABORTED'));
    expect(await cache.has(url)).toBe(false);
    expect((await cache.list())[0]?.complete).toBe(false);
    await (await cache.open(url)).completed;
    expect(await storedFile(cache, url)).toEqual(model);
  });

  it('a tiny budget is a STORAGE_QUOTA error with the bytes needed and available; allowUncached reads uncached', async () => {
    const cache = new ModelCache(directoryCacheStore(directory), { budgetBytes: 1000 });
    const url = `${server.base}/model.gguf`;
    const error = await cache.open(url).catch((caught: unknown) => caught);
    expect(StrataError.isInstance(error, 'STORAGE_QUOTA')).toBe(true);
    expect((error as StrataError).details).toMatchObject({ neededBytes: model.byteLength, availableBytes: 1000 });
    const uncached = await openModelUrl(url, { cache, allowUncached: true });
    expect(uncached.from).toBe('uncached');
    expect(uncached.files.tensors.tensors.size).toBeGreaterThan(0);
    expect(await cache.list()).toEqual([]);
  });

  it('lists, deletes and clears entries', async () => {
    const cache = new ModelCache(directoryCacheStore(directory));
    const gguf = `${server.base}/model.gguf`;
    const config = `${server.base}/llama/config.json`;
    await (await cache.open(gguf)).completed;
    await (await cache.open(config)).completed;
    expect((await cache.list()).map((entry) => entry.url).sort()).toEqual([config, gguf].sort());
    expect(await cache.delete(gguf)).toBe(true);
    expect(await cache.delete(gguf)).toBe(false);
    expect(await cache.has(gguf)).toBe(false);
    expect(await cache.totalSize()).toBeGreaterThan(0);
    await cache.clear();
    expect(await cache.list()).toEqual([]);
    expect(await cache.totalSize()).toBe(0);
  });

  it('opens a split GGUF from its first shard', async () => {
    const count = 3;
    for (let index = 0; index < count; index++) {
      const name = `split-0000${index + 1}-of-0000${count}.gguf`;
      await writeGgufFile(join(scratch, name), {
        metadata: [
          ['split.no', ggufValue.u16(index)],
          ['split.count', ggufValue.u16(count)],
          ['split.tensors.count', ggufValue.i32(count)],
        ],
        tensors: [
          {
            name: `t${index}`,
            type: 'F32',
            shape: [2, 4],
            data: new Uint8Array(new Float32Array(8).fill(index).buffer),
          },
        ],
      });
      server.files.set(`/split/${name}`, new Uint8Array(await readFile(join(scratch, name))));
    }
    const cache = new ModelCache(directoryCacheStore(directory));
    const opened = await openModelUrl(`${server.base}/split/split-00001-of-00003.gguf`, { cache });
    expect([...opened.files.tensors.tensors.keys()]).toEqual(['t0', 't1', 't2']);
    expect(new Float32Array((await opened.files.tensors.readBytes('t2')).slice().buffer)[7]).toBe(2);
    await opened.completed;
    expect(opened.urls).toHaveLength(3);
    for (const url of opened.urls) expect(await cache.has(url)).toBe(true);
    await expect(openModelUrl(`${server.base}/split/split-00002-of-00003.gguf`, { cache })).rejects.toSatisfy(
      codeOf('INVALID_ARGUMENT'),
    );
  });

  it('opens a Hugging Face folder by URL, then again from the cache alone', async () => {
    const cache = new ModelCache(directoryCacheStore(directory));
    const url = `${server.base}/llama/`;
    const first = await openModelUrl(url, { cache });
    expect(first.files.format).toBe('huggingface');
    const local = await openModelFiles(`${fixtures}models/llama`);
    const name = [...local.tensors.tensors.keys()][0] as string;
    expect(await first.files.tensors.readBytes(name)).toEqual(await local.tensors.readBytes(name));
    await first.completed;
    const requestsBefore = server.requests.length;
    const second = await openModelUrl(url, { cache });
    expect(second.from).toBe('cache');
    expect(second.files.format === 'huggingface' && second.files.huggingface.chatTemplate).toBe(
      local.format === 'huggingface' && local.huggingface.chatTemplate,
    );
    expect(await second.files.tensors.readBytes(name)).toEqual(await local.tensors.readBytes(name));
    expect(server.requests.length).toBe(requestsBefore);
  });
});

describe('resolveModelUrl', () => {
  it('maps hf:// paths to the Hub resolve/main URLs and tells files from folders', () => {
    expect(resolveModelUrl('hf://org/repo/sub/model-Q4_K_M.gguf')).toEqual({
      kind: 'gguf',
      url: 'https://huggingface.co/org/repo/resolve/main/sub/model-Q4_K_M.gguf',
    });
    expect(resolveModelUrl('hf://org/repo')).toEqual({
      kind: 'folder',
      url: 'https://huggingface.co/org/repo/resolve/main/',
    });
    expect(resolveModelUrl('hf://org/repo@v1.0')).toEqual({
      kind: 'folder',
      url: 'https://huggingface.co/org/repo/resolve/v1.0/',
    });
    expect(resolveModelUrl('http://127.0.0.1:8080/models/llama')).toEqual({
      kind: 'folder',
      url: 'http://127.0.0.1:8080/models/llama/',
    });
    expect(() => resolveModelUrl('http://host/llama/model.safetensors')).toThrow(/folder/);
    expect(() => resolveModelUrl('ftp://host/model.gguf')).toThrow(StrataError);
  });
});
