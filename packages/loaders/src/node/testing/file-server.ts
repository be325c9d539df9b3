import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One request the {@link FileServer} answered. */
export interface ServedRequest {
  /** The path asked for. */
  readonly path: string;
  /** The `Range` header, when sent. */
  readonly range: string | undefined;
  /** The status answered. */
  readonly status: number;
}

/**
 * A static HTTP file server on 127.0.0.1 for tests: single ranges (`bytes=a-`, `bytes=a-b`), `ETag` with `If-Range`,
 * and faults on demand: drop the connection after some bytes, or stall (send some bytes, then nothing).
 */
export interface FileServer {
  /** `http://127.0.0.1:PORT`. */
  readonly base: string;
  /** The files by path (`/model.gguf`); change them to change what is served. */
  readonly files: Map<string, Uint8Array>;
  /** Every request answered, in order. */
  readonly requests: ServedRequest[];
  /** The next GET of `path` sends bytes up to absolute offset `offset`, then destroys the connection. */
  dropAfter(path: string, offset: number): void;
  /** The next GET of `path` sends bytes up to absolute offset `offset`, then sends nothing more (until closed). */
  stallAfter(path: string, offset: number): void;
  /** Every GET of `path` from now on sends its body in pieces of `pieceBytes`, one every `intervalMs` (a slow link). */
  pace(path: string, pieceBytes: number, intervalMs: number): void;
  /** Answers `Repr-Digest: sha-256=…` for `path` with `digest` (the real one when omitted). */
  sendDigest(path: string, digest?: Uint8Array): void;
  /** Stops the server and every open connection. */
  close(): Promise<void>;
}

/** Starts a {@link FileServer} over `files`. */
export async function startFileServer(files: Record<string, Uint8Array>): Promise<FileServer> {
  const map = new Map(Object.entries(files));
  const requests: ServedRequest[] = [];
  const drops = new Map<string, number>();
  const stalls = new Map<string, number>();
  const digests = new Map<string, Uint8Array | undefined>();
  const paces = new Map<string, { pieceBytes: number; intervalMs: number }>();
  const etagOf = (bytes: Uint8Array) => `"${createHash('sha256').update(bytes).digest('hex').slice(0, 16)}"`;
  const server: Server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://localhost').pathname);
    const file = map.get(path);
    const rangeHeader = request.headers.range;
    const answer = (status: number) => requests.push({ path, range: rangeHeader, status });
    if (file === undefined) {
      answer(404);
      response.writeHead(404).end();
      return;
    }
    const etag = etagOf(file);
    const headers: Record<string, string | number> = { etag, 'accept-ranges': 'bytes' };
    if (digests.has(path)) {
      const digest = digests.get(path) ?? createHash('sha256').update(file).digest();
      headers['repr-digest'] = `sha-256=:${Buffer.from(digest).toString('base64')}:`;
    }
    const match = /^bytes=(\d+)-(\d*)$/.exec(rangeHeader ?? '');
    const ifRange = request.headers['if-range'];
    let start = 0;
    let end = file.byteLength - 1;
    let status = 200;
    if (match !== null && (ifRange === undefined || ifRange === etag)) {
      start = Number(match[1]);
      end = match[2] === '' ? file.byteLength - 1 : Math.min(Number(match[2]), file.byteLength - 1);
      if (start >= file.byteLength) {
        answer(416);
        response.writeHead(416, { 'content-range': `bytes */${file.byteLength}` }).end();
        return;
      }
      status = 206;
      headers['content-range'] = `bytes ${start}-${end}/${file.byteLength}`;
    }
    headers['content-length'] = end - start + 1;
    answer(status);
    response.writeHead(status, headers);
    if (request.method === 'HEAD') {
      response.end();
      return;
    }
    const drop = drops.get(path);
    const stall = stalls.get(path);
    const cut = drop ?? stall;
    if (cut !== undefined && cut > start && cut <= end) {
      drops.delete(path);
      stalls.delete(path);
      response.write(file.subarray(start, cut), () => {
        if (drop !== undefined) setTimeout(() => response.socket?.destroy(), 20);
      });
      return;
    }
    const paced = paces.get(path);
    if (paced === undefined) {
      response.end(file.subarray(start, end + 1));
      return;
    }
    let at = start;
    const timer = setInterval(() => {
      const next = Math.min(end + 1, at + paced.pieceBytes);
      response.write(file.subarray(at, next));
      at = next;
      if (at > end) {
        clearInterval(timer);
        response.end();
      }
    }, paced.intervalMs);
    response.on('close', () => clearInterval(timer));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    files: map,
    requests,
    dropAfter: (path, offset) => drops.set(path, offset),
    stallAfter: (path, offset) => stalls.set(path, offset),
    pace: (path, pieceBytes, intervalMs) => paces.set(path, { pieceBytes, intervalMs }),
    sendDigest: (path, digest) => digests.set(path, digest),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
