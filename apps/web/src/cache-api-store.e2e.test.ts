import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCacheProbe, CHROMIUM, CHROMIUM_ARGS, type ModelServer, serveModels } from './testing/browser-harness.js';

// The Cache API store (the fallback where OPFS cannot be written in place) in Chromium: resume, verify, list, delete;
// then the renderer's peak memory while a file larger than the loading bound (8 MiB reads + 64 MiB) streams through
// the OPFS store (in a worker) and the Cache API store. STRATA_PROBE_MIB sets the file's size (default 160).
const LLAMA = fileURLToPath(new URL('../../../../shared/fixtures/models/llama/', import.meta.url));
const model = new Uint8Array(readFileSync(join(LLAMA, 'model-f32.gguf')));
const large = new Uint8Array(Number(process.env.STRATA_PROBE_MIB ?? 160) * 1024 * 1024);
for (let index = 0; index < large.length; index += 4096) large[index] = index / 4096;
const TENSOR_BYTES = 8 * 1024 * 1024;

let outDir: string;
let probe: string;
let server: ModelServer;
let browser: Browser;
let page: Page;

interface ProbeWindow {
  strataCacheProbe: { probe: typeof import('./testing/cache-probe.js').probe };
}

beforeAll(async () => {
  outDir = mkdtempSync(join(tmpdir(), 'strata-cache-probe-'));
  probe = await buildCacheProbe(outDir);
  server = await serveModels(
    new Map([
      ['/probe.html', new TextEncoder().encode('<!doctype html><title>probe</title>')],
      ['/model.gguf', model],
      ['/large.bin', large],
    ]),
  );
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await browser.newPage();
  page.setDefaultTimeout(120_000);
  await page.goto(`${server.base}/probe.html`);
  await page.addScriptTag({ content: probe });
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
  if (outDir !== undefined) rmSync(outDir, { recursive: true, force: true });
});

/**
 * Peak and current resident memory (KiB) of Chromium's renderer processes, from /proc; with `resetPeak`, the peak
 * is reset to the current level first (`clear_refs` 5), where this user may.
 */
function rendererMemory(resetPeak = false): { pid: number; rss: number; peak: number }[] {
  const renderers: { pid: number; rss: number; peak: number }[] = [];
  for (const name of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const command = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (!command.includes('chromium') || !command.includes('--type=renderer')) continue;
      if (resetPeak) {
        try {
          writeFileSync(`/proc/${name}/clear_refs`, '5');
        } catch {
          // not allowed here: the peak then covers the process's whole life
        }
      }
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      const field = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
      renderers.push({ pid: Number(name), rss: field('VmRSS'), peak: field('VmHWM') });
    } catch {
      // the process ended while listed
    }
  }
  return renderers;
}

describe('cacheApiStore in Chromium', () => {
  it('resumes a cut download, verifies it, lists and deletes it', async () => {
    const url = `${server.base}/model.gguf`;
    server.dropAfter('/model.gguf', Math.floor(model.byteLength / 2));
    const result = await page.evaluate(async (target) => {
      const { ModelCache, cacheApiStore } = (window as unknown as ProbeWindow).strataCacheProbe.probe;
      const cache = new ModelCache(cacheApiStore());
      const first = await cache.open(target);
      const failure = await first.completed.then(
        () => 'completed',
        (error: { code?: string }) => error.code,
      );
      const partial = await cache.list();
      const second = await cache.open(target);
      await second.completed;
      const bytes = await second.read(0, second.byteLength);
      const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', bytes.slice()));
      const complete = await cache.has(target);
      const fromCache = (await cache.open(target)).from;
      const deleted = await cache.delete(target);
      return {
        failure,
        partial: partial.map(({ complete, byteLength }) => ({ complete, byteLength })),
        sha256: Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join(''),
        complete,
        fromCache,
        deleted,
        afterDelete: await cache.list(),
      };
    }, url);
    expect(result.failure).toBe('NETWORK_ERROR');
    expect(result.partial).toHaveLength(1);
    expect(result.partial[0]!.complete).toBe(false);
    expect(result.partial[0]!.byteLength).toBeGreaterThan(0);
    const resumed = server.requests
      .filter((request) => request.path === '/model.gguf' && request.status === 206)
      .at(-1);
    expect(resumed?.range).toBe(`bytes=${result.partial[0]!.byteLength}-`);
    expect(result.sha256).toBe(createHash('sha256').update(model).digest('hex'));
    expect(result).toMatchObject({ complete: true, fromCache: 'cache', deleted: true, afterDelete: [] });
  });

  it('streams a file larger than the loading bound through each store (printing the renderer’s peak memory)', async () => {
    for (const store of ['opfsCacheStore', 'cacheApiStore'] as const) {
      const before = rendererMemory(true);
      const read = await page.evaluate(
        async ({ target, chunk, store, script }) => {
          // The OPFS store writes in place only in a dedicated worker: run the same loop in one built from the probe.
          type Job = { target: string; chunk: number; store: 'cacheApiStore' | 'opfsCacheStore' };
          const loop = async (scope: typeof globalThis, { target, chunk, store }: Job) => {
            const probe = (scope as unknown as ProbeWindow).strataCacheProbe.probe;
            const cache = new probe.ModelCache(probe[store]());
            const source = await cache.open(target);
            // As a model loads: every read lands in one buffer, in place where the store can (readInto).
            const buffer = new Uint8Array(chunk);
            let total = 0;
            for (let offset = 0; offset < source.byteLength; offset += chunk) {
              const into = buffer.subarray(0, Math.min(chunk, source.byteLength - offset));
              await source.readInto!(offset, into);
              total += into.byteLength;
            }
            await source.completed;
            const complete = await cache.has(target);
            await cache.clear();
            return complete ? total : -1;
          };
          if (store === 'cacheApiStore') return loop(globalThis, { target, chunk, store });
          const code = `${script}\nonmessage = (event) => (${loop.toString()})(self, event.data).then(postMessage, (error) => postMessage(String(error)));`;
          const worker = new Worker(URL.createObjectURL(new Blob([code], { type: 'text/javascript' })));
          return new Promise<number>((resolve, reject) => {
            worker.onmessage = (event) =>
              typeof event.data === 'number' ? resolve(event.data) : reject(new Error(String(event.data)));
            worker.onerror = (event) => reject(new Error(event.message));
            worker.postMessage({ target, chunk, store });
          });
        },
        { target: `${server.base}/large.bin`, chunk: TENSOR_BYTES, store, script: probe },
      );
      expect(read, store).toBe(large.byteLength);
      const after = rendererMemory();
      const growth = Math.max(
        ...after.map(({ pid, peak }) => peak - (before.find((renderer) => renderer.pid === pid)?.rss ?? peak)),
      );
      // A figure for the record, not a bound: the renderer's peak resident memory above its level before (garbage
      // collection timing moves it a lot).
      console.log(
        `${store}: renderer peak growth while streaming ${large.byteLength / 2 ** 20} MiB in ${TENSOR_BYTES / 2 ** 20} MiB reads into one buffer: ${(growth / 1024).toFixed(1)} MiB`,
      );
    }
  });
});
