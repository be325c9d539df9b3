import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The app's folder. */
export const APP = fileURLToPath(new URL('../..', import.meta.url));
/** Debian's Chromium, as CI installs it. */
export const CHROMIUM = '/usr/bin/chromium';
/** Headless Chromium with WebGPU on a machine without a GPU (its CPU Vulkan), loopback only. */
export const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--enable-features=Vulkan',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
};

/** Runs node with `args` in the app's folder (production mode); rejects with its output when it fails. */
function runNode(args: readonly string[], what: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...args], {
      cwd: APP,
      env: { ...process.env, NODE_ENV: 'production' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => (output += chunk));
    child.stderr.on('data', (chunk) => (output += chunk));
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve() : reject(new Error(`${what} failed (${code}):\n${output}`))));
  });
}

/** Builds the app into `target` with its own Vite (a child process: the test runner has a Vite of its own). */
export function buildApp(target: string): Promise<void> {
  const vite = join(APP, 'node_modules/vite/bin/vite.js');
  return runNode([vite, 'build', '--outDir', target, '--emptyOutDir', '--logLevel', 'warn'], 'vite build');
}

/**
 * Builds `src/testing/cache-probe.ts` into one classic script (a global `strataCacheProbe`) with the app's Vite config,
 * in a child process; resolves to the script's text.
 */
export async function buildCacheProbe(target: string): Promise<string> {
  const script = `
    const { build } = await import('vite');
    await build({
      configFile: 'vite.config.ts',
      logLevel: 'warn',
      build: {
        outDir: ${JSON.stringify(target)},
        emptyOutDir: true,
        sourcemap: false,
        lib: { entry: 'src/testing/cache-probe.ts', formats: ['iife'], name: 'strataCacheProbe', fileName: () => 'probe.js' },
      },
    });`;
  await runNode(['--input-type=module', '-e', script], 'probe build');
  return readFileSync(join(target, 'probe.js'), 'utf8');
}

/**
 * Serves the built files on 127.0.0.1 (a secure context, as WebGPU requires) on a free port, with `headers` on every
 * answer (for example COOP and COEP, which make the page cross-origin isolated).
 */
export function serveApp(
  root: string,
  headers: Readonly<Record<string, string>> = {},
): Promise<{ server: Server; origin: string }> {
  const server = createServer((request, response) => {
    const path = normalize(decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname));
    const file = join(root, path === '/' ? 'index.html' : path);
    if (!file.startsWith(root) || !existsSync(file)) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { ...headers, 'content-type': TYPES[extname(file)] ?? 'application/octet-stream' });
    response.end(readFileSync(file));
  });
  return new Promise((resolve) =>
    server.listen(0, '127.0.0.1', () =>
      resolve({ server, origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}` }),
    ),
  );
}

/** A model file server for the browser: CORS, single ranges, ETag/If-Range, and a dropped connection on demand. */
export interface ModelServer {
  /** `http://127.0.0.1:PORT`. */
  readonly base: string;
  /** Every request: path, Range header and status. */
  readonly requests: { path: string; range: string | undefined; status: number }[];
  /** The next GET of `path` sends bytes up to `offset`, drops the connection, and the request after it gets a 503. */
  dropAfter(path: string, offset: number): void;
  /** The next GET of `path` sends bytes up to `offset`, then nothing more until the client gives up. */
  stallAfter(path: string, offset: number): void;
  /** Stops the server and closes its connections. */
  close(): Promise<void>;
}

/** Serves `files` (path → bytes) cross-origin, as a model hub or CDN does. */
export async function serveModels(files: ReadonlyMap<string, Uint8Array>): Promise<ModelServer> {
  const requests: ModelServer['requests'] = [];
  const drops = new Map<string, number>();
  const stalls = new Map<string, number>();
  const failNext = new Set<string>();
  const cors = {
    'access-control-allow-origin': '*',
    'access-control-allow-headers': 'range, if-range',
    'access-control-expose-headers': 'content-range, content-length, etag, accept-ranges',
  };
  const server = createServer((request, response) => {
    const path = decodeURIComponent(new URL(request.url ?? '/', 'http://x').pathname);
    const range = request.headers.range;
    const answer = (status: number, headers: Record<string, string | number> = {}) => {
      requests.push({ path, range, status });
      response.writeHead(status, { ...cors, ...headers });
    };
    if (request.method === 'OPTIONS') {
      answer(204);
      response.end();
      return;
    }
    const file = files.get(path);
    if (file === undefined) {
      answer(404);
      response.end();
      return;
    }
    if (failNext.delete(path)) {
      answer(503);
      response.end();
      return;
    }
    const etag = `"${file.byteLength}-${file[file.byteLength >> 1]}"`;
    const match = /^bytes=(\d+)-(\d*)$/.exec(range ?? '');
    const useRange =
      match !== null && (request.headers['if-range'] === undefined || request.headers['if-range'] === etag);
    const start = useRange ? Number(match![1]) : 0;
    const end = useRange && match![2] !== '' ? Math.min(Number(match![2]), file.byteLength - 1) : file.byteLength - 1;
    answer(useRange ? 206 : 200, {
      ...(path.endsWith('.html') ? { 'content-type': 'text/html; charset=utf-8' } : {}),
      etag,
      'accept-ranges': 'bytes',
      'content-length': end - start + 1,
      ...(useRange ? { 'content-range': `bytes ${start}-${end}/${file.byteLength}` } : {}),
    });
    const stall = stalls.get(path);
    if (stall !== undefined && stall > start && stall <= end) {
      stalls.delete(path);
      response.write(file.subarray(start, stall));
      return;
    }
    const drop = drops.get(path);
    if (drop !== undefined && drop > start && drop <= end) {
      drops.delete(path);
      failNext.add(path);
      response.write(file.subarray(start, drop), () => setTimeout(() => response.socket?.destroy(), 50));
      return;
    }
    response.end(file.subarray(start, end + 1));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
    requests,
    dropAfter: (path, offset) => drops.set(path, offset),
    stallAfter: (path, offset) => stalls.set(path, offset),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
