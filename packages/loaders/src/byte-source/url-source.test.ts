import { readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { StrataError } from '@strata/core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openGguf } from '../gguf/gguf-file.js';
import { openGgufFile } from '../node/gguf-files.js';
import { urlSource } from './url-source.js';

const fixtures = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));
const modelPath = `${fixtures}models/quant-base/model-Q4_K_M.gguf`;
const model = readFileSync(modelPath);
const ranges: string[] = [];
let server: Server;
let base = '';

beforeAll(async () => {
  // A static file server with single-range support, as Hugging Face and most CDNs answer.
  server = createServer((request, response) => {
    if (request.headers.authorization !== 'Bearer token') {
      response.writeHead(401).end();
      return;
    }
    const range = /^bytes=(\d+)-(\d+)$/.exec(request.headers.range ?? '');
    if (request.method === 'HEAD') {
      response.writeHead(200, { 'content-length': model.byteLength }).end();
    } else if (range === null) {
      response.writeHead(200, { 'content-length': model.byteLength }).end(model);
    } else {
      ranges.push(request.headers.range as string);
      const start = Number(range[1]);
      const end = Math.min(Number(range[2]), model.byteLength - 1);
      response
        .writeHead(206, {
          'content-range': `bytes ${start}-${end}/${model.byteLength}`,
          'content-length': end - start + 1,
        })
        .end(model.subarray(start, end + 1));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('urlSource over a real HTTP server', () => {
  it('opens a GGUF with range requests and reads the same tensors as the local file', async () => {
    const source = await urlSource(`${base}/model.gguf`, { headers: { authorization: 'Bearer token' } });
    expect(source.byteLength).toBe(model.byteLength);
    const remote = await openGguf(source);
    const local = await openGgufFile(modelPath);
    expect([...remote.tensors.tensors.values()]).toEqual([...local.tensors.tensors.values()]);
    const bytes = await remote.tensors.readBytes('blk.1.ffn_down.weight');
    expect(Buffer.from(bytes).equals(Buffer.from(await local.tensors.readBytes('blk.1.ffn_down.weight')))).toBe(true);
    // The header came in one 64 KiB window; nothing but the requested tensor was fetched after it.
    expect(ranges.length).toBeLessThanOrEqual(3);
  });

  it('reports refused requests as NETWORK_ERROR', async () => {
    await expect(urlSource(`${base}/model.gguf`)).rejects.toSatisfy((error) =>
      StrataError.isInstance(error, 'NETWORK_ERROR'),
    );
    await expect(urlSource('http://127.0.0.1:1/none')).rejects.toSatisfy((error) =>
      StrataError.isInstance(error, 'NETWORK_ERROR'),
    );
  });
});

describe('remote and browser directories', () => {
  it('urlDirectory opens a Hugging Face model served over HTTP', async () => {
    const { urlDirectory } = await import('./remote-directory.js');
    const { openHuggingFaceDirectory } = await import('../huggingface/huggingface-directory.js');
    const folder = `${fixtures}models/llama/`;
    const files = ['config.json', 'tokenizer.json', 'model.safetensors', 'missing.json'];
    const fetchFolder = (async (url: string | URL | Request, init?: RequestInit) => {
      const name = decodeURIComponent(String(url).slice('https://hub.test/llama/'.length));
      let bytes: Uint8Array<ArrayBuffer>;
      try {
        bytes = new Uint8Array(readFileSync(folder + name));
      } catch {
        return new Response('not found', { status: 404 });
      }
      const range = /bytes=(\d+)-(\d+)/.exec(new Headers(init?.headers).get('range') ?? '');
      if (range === null) return new Response(bytes, { status: 200 });
      const end = Math.min(Number(range[2]), bytes.byteLength - 1);
      return new Response(bytes.subarray(Number(range[1]), end + 1), {
        status: 206,
        headers: { 'content-range': `bytes ${range[1]}-${end}/${bytes.byteLength}` },
      });
    }) as typeof fetch;
    const directory = urlDirectory('https://hub.test/llama', { files, fetch: fetchFolder });
    expect(await directory.readText('missing.json')).toBeUndefined();
    expect(await directory.readText('generation_config.json')).toBeUndefined();
    const model = await openHuggingFaceDirectory(directory);
    expect(model.config.model_type).toBe('llama');
    expect(model.tensors.tensors.size).toBeGreaterThan(0);
    expect(model.chatTemplate).toBeUndefined();
  });

  it('blobsDirectory finds browser files by name', async () => {
    const { blobsDirectory } = await import('./remote-directory.js');
    const directory = blobsDirectory([new File(['{"a": 1}'], 'config.json'), new File([new Uint8Array(3)], 'x.bin')]);
    expect(await directory.readText('config.json')).toBe('{"a": 1}');
    expect((await directory.open('x.bin'))?.byteLength).toBe(3);
    expect(await directory.list()).toEqual(['config.json', 'x.bin']);
  });
});
