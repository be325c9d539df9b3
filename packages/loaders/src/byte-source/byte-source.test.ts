import { StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { blobSource } from './blob-source.js';
import { bytesSource } from './byte-source.js';
import { urlSource } from './url-source.js';

const content = Uint8Array.from({ length: 1000 }, (_, index) => index % 251);

/** A fetch serving `content` with Range support (or without, or failing), recording requests. */
function fakeFetch(mode: 'ranges' | 'no-ranges' | 'head-only' | 'down', requests: string[] = []): typeof fetch {
  return (async (_url: string | URL | Request, init?: RequestInit) => {
    const headers = new Headers(init?.headers);
    requests.push(`${init?.method ?? 'GET'} ${headers.get('range') ?? ''}`);
    if (mode === 'down') throw new TypeError('fetch failed');
    if (init?.method === 'HEAD')
      return new Response(null, { status: 200, headers: { 'content-length': String(content.byteLength) } });
    const range = /bytes=(\d+)-(\d+)/.exec(headers.get('range') ?? '');
    if (range === null || mode !== 'ranges') {
      return mode === 'head-only' ? new Response('no', { status: 200 }) : new Response(content, { status: 200 });
    }
    const start = Number(range[1]);
    const end = Math.min(Number(range[2]), content.byteLength - 1);
    return new Response(content.slice(start, end + 1), {
      status: 206,
      headers: { 'content-range': `bytes ${start}-${end}/${content.byteLength}` },
    });
  }) as typeof fetch;
}

describe('byte sources', () => {
  it('bytesSource and blobSource read ranges and reject reads past the end', async () => {
    for (const source of [bytesSource(content), blobSource(new Blob([content]))]) {
      expect(source.byteLength).toBe(1000);
      expect(await source.read(998, 2)).toEqual(Uint8Array.from([998 % 251, 999 % 251]));
      expect(await source.read(1000, 0)).toEqual(new Uint8Array(0));
      await expect(source.read(999, 2)).rejects.toSatisfy((error) => StrataError.isInstance(error, 'TRUNCATED_FILE'));
      await expect(source.read(0.5, 1)).rejects.toSatisfy((error) => StrataError.isInstance(error, 'INVALID_ARGUMENT'));
    }
  });

  it('urlSource reads with Range requests and learns the size from Content-Range', async () => {
    const requests: string[] = [];
    const source = await urlSource('https://example.test/model.gguf', {
      fetch: fakeFetch('ranges', requests),
      headers: { authorization: 'x' },
    });
    expect(source.byteLength).toBe(1000);
    expect(await source.read(10, 3)).toEqual(content.slice(10, 13));
    expect(requests).toEqual(['GET bytes=0-0', 'GET bytes=10-12']);
    await expect(source.read(999, 2)).rejects.toSatisfy((error) => StrataError.isInstance(error, 'TRUNCATED_FILE'));
  });

  it('urlSource falls back to HEAD for the size and reports servers without ranges as NETWORK_ERROR', async () => {
    const source = await urlSource('https://example.test/m', { fetch: fakeFetch('no-ranges') });
    expect(source.byteLength).toBe(1000);
    expect(await source.read(0, 1000)).toEqual(content);
    await expect(source.read(5, 5)).rejects.toSatisfy((error) => StrataError.isInstance(error, 'NETWORK_ERROR'));
    await expect(urlSource('https://example.test/m', { fetch: fakeFetch('down') })).rejects.toSatisfy((error) =>
      StrataError.isInstance(error, 'NETWORK_ERROR'),
    );
  });
});
