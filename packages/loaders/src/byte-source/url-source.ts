import { StrataError } from '@strata/core';
import { type ByteSource, checkReadRange } from './byte-source.js';

/** Options of {@link urlSource}. */
export interface UrlSourceOptions {
  /** The fetch to use (defaults to the global one): inject one for authentication, retries or tests. */
  readonly fetch?: typeof fetch;
  /** Extra request headers (for example `Authorization`). */
  readonly headers?: Readonly<Record<string, string>>;
}

function networkError(url: string, what: string, cause?: unknown, details: Record<string, unknown> = {}): StrataError {
  return new StrataError(
    'NETWORK_ERROR',
    `${what} (${url}). Check the URL, the network and that the server allows range requests.`,
    {
      cause,
      details: { url, ...details },
    },
  );
}

/** Parses the total of a `Content-Range: bytes a-b/total` header. */
function totalFromContentRange(header: string | null): number | undefined {
  const match = header === null ? null : /\/\s*(\d+)\s*$/.exec(header);
  if (match === null) return undefined;
  const total = Number(match[1]);
  return Number.isSafeInteger(total) ? total : undefined;
}

/**
 * A ByteSource over a file served by HTTP, read with `Range` requests through `fetch`. The size comes from a ranged
 * GET of the first byte (`Content-Range`) or, failing that, a `HEAD` (`Content-Length`). Failures are `NETWORK_ERROR`.
 */
export async function urlSource(url: string, options: UrlSourceOptions = {}): Promise<ByteSource> {
  const fetchFunction = options.fetch ?? globalThis.fetch;
  if (typeof fetchFunction !== 'function') throw networkError(url, 'No fetch function is available');
  const headers = options.headers ?? {};
  const request = async (init: RequestInit, what: string): Promise<Response> => {
    try {
      return await fetchFunction(url, init);
    } catch (cause) {
      throw networkError(url, `${what} failed`, cause);
    }
  };

  let byteLength: number | undefined;
  const probe = await request(
    { method: 'GET', headers: { ...headers, Range: 'bytes=0-0' } },
    'Requesting the first byte',
  );
  if (probe.status === 206) byteLength = totalFromContentRange(probe.headers.get('content-range'));
  await probe.body?.cancel().catch(() => undefined);
  if (byteLength === undefined && probe.status === 416)
    byteLength = totalFromContentRange(probe.headers.get('content-range')) ?? 0;
  if (byteLength === undefined) {
    const head = await request({ method: 'HEAD', headers: { ...headers } }, 'HEAD');
    if (!head.ok) throw networkError(url, `HEAD answered ${head.status}`, undefined, { status: head.status });
    const length = head.headers.get('content-length');
    const parsed = length === null ? Number.NaN : Number(length);
    if (!Number.isSafeInteger(parsed) || parsed < 0) throw networkError(url, 'The server reported no file size');
    byteLength = parsed;
  }
  const total = byteLength;
  return {
    name: url,
    byteLength: total,
    async read(offset, length) {
      checkReadRange(url, total, offset, length);
      if (length === 0) return new Uint8Array(0);
      const end = offset + length - 1;
      const response = await request(
        { method: 'GET', headers: { ...headers, Range: `bytes=${offset}-${end}` } },
        `Reading bytes ${offset}-${end}`,
      );
      const whole = response.status === 200 && offset === 0 && length === total;
      if (response.status !== 206 && !whole) {
        await response.body?.cancel().catch(() => undefined);
        throw networkError(url, `Range request for bytes ${offset}-${end} answered ${response.status}`, undefined, {
          status: response.status,
          offset,
          length,
        });
      }
      let bytes: Uint8Array;
      try {
        bytes = new Uint8Array(await response.arrayBuffer());
      } catch (cause) {
        throw networkError(url, `Reading the body of bytes ${offset}-${end} failed`, cause);
      }
      if (bytes.byteLength !== length) {
        throw new StrataError(
          'TRUNCATED_FILE',
          `${url} returned ${bytes.byteLength} bytes for a range of ${length} at offset ${offset}; the file changed or the transfer was cut.`,
          {
            details: { url, offset, length, received: bytes.byteLength },
          },
        );
      }
      return bytes;
    },
  };
}
