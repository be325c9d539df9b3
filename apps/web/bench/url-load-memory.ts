/**
 * Host memory while the web app loads a model by URL in Chromium (issue: at most the largest tensor + 64 MiB).
 *
 *   pnpm exec tsx apps/web/bench/url-load-memory.ts [--layers 16] [--hidden 1024] [--runs 1] [--keep FILE]
 *
 * Writes a random-weight llama GGUF (the pipeline bench's writer) larger than that bound, builds the app, serves it
 * cross-origin isolated (COOP/COEP, so `performance.measureUserAgentSpecificMemory()` is there) and the GGUF from a
 * second local server, and drives Debian's Chromium (SwiftShader WebGPU) through two loads: by URL from the network
 * (network → OPFS → GPU buffers) and, after a reload, from OPFS. While each load runs (until the weights are on the
 * GPU) it samples every 50 ms:
 * - the model worker's V8 heap in use plus its ArrayBuffer backing stores (CDP `Runtime.getHeapUsage` on the worker),
 *   without forcing a collection: the peak of all the worker holds (its code and garbage not yet collected included);
 * - the renderer process's resident memory (VmRSS, /proc), above its level before the load;
 * - every 500 ms, `performance.measureUserAgentSpecificMemory()` in the page (it collects garbage first: live bytes).
 * Prints one JSON line per load and a table. Not a test: the figures depend on the machine and its load.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { openGgufFile } from '@strata/loaders/node';
import { type CDPSession, chromium, type Page } from 'playwright-core';
import { type LlamaDimensions, writeRandomGguf } from '../../../packages/pipeline/bench/random-gguf.js';
import { buildApp, CHROMIUM, CHROMIUM_ARGS, serveApp, serveModels } from '../src/testing/browser-harness.js';

const MIB = 1024 * 1024;
const { values } = parseArgs({
  options: {
    layers: { type: 'string', default: '16' },
    hidden: { type: 'string', default: '1024' },
    runs: { type: 'string', default: '1' },
    keep: { type: 'string' },
  },
});
const hidden = Number(values.hidden);
const dimensions: LlamaDimensions = {
  name: 'memory bench (random weights)',
  hidden,
  layers: Number(values.layers),
  heads: hidden / 64,
  keyValueHeads: hidden / 256,
  feedForward: hidden * 4,
  vocabulary: 32000,
  tied: false,
  ropeBase: 10000,
  contextLength: 2048,
};

/** Resident memory (KiB) of Chromium's renderer processes, by pid: all of it, and its anonymous, file and shared parts. */
interface Resident {
  readonly total: number;
  readonly anonymous: number;
  readonly file: number;
  readonly shared: number;
}

function rendererResident(): Map<number, Resident> {
  const resident = new Map<number, Resident>();
  for (const name of readdirSync('/proc').filter((entry) => /^\d+$/.test(entry))) {
    try {
      const command = readFileSync(`/proc/${name}/cmdline`, 'utf8');
      if (!command.includes('chromium') || !command.includes('--type=renderer')) continue;
      const status = readFileSync(`/proc/${name}/status`, 'utf8');
      const field = (key: string) => Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1] ?? 0);
      resident.set(Number(name), {
        total: field('VmRSS'),
        anonymous: field('RssAnon'),
        file: field('RssFile'),
        shared: field('RssShmem'),
      });
    } catch {
      // the process ended while listed
    }
  }
  return resident;
}

/** `Runtime.getHeapUsage` of the page's model worker, through a flat CDP session attached to it. */
async function workerHeap(page: Page): Promise<() => Promise<number>> {
  const session: CDPSession = await page.context().newCDPSession(page);
  const attached = new Promise<string>((resolve) =>
    session.on('Target.attachedToTarget', (event: { sessionId: string; targetInfo: { type: string } }) => {
      if (event.targetInfo.type === 'worker') resolve(event.sessionId);
    }),
  );
  await session.send('Target.setAutoAttach', { autoAttach: true, waitForDebuggerOnStart: false, flatten: false });
  const sessionId = await attached;
  let nextId = 1;
  const waiting = new Map<number, (result: Record<string, number>) => void>();
  session.on('Target.receivedMessageFromTarget', (event: { message: string }) => {
    const reply = JSON.parse(event.message) as { id: number; result: Record<string, number> };
    waiting.get(reply.id)?.(reply.result);
    waiting.delete(reply.id);
  });
  return () => {
    const id = nextId++;
    const answered = new Promise<Record<string, number>>((resolve) => waiting.set(id, resolve));
    void session.send('Target.sendMessageToTarget', {
      sessionId,
      message: JSON.stringify({ id, method: 'Runtime.getHeapUsage' }),
    });
    return answered.then((usage) => (usage.usedSize ?? 0) + (usage.backingStorageSize ?? 0));
  };
}

interface LoadMemory {
  readonly from: string;
  readonly seconds: number;
  readonly workerPeakMiB: number;
  /** The worker's first sample of the load (its code and state before the weights: the part that is not loading). */
  readonly workerStartMiB: number;
  readonly rendererGrowthMiB: number;
  /** The anonymous, file-backed and shared parts of the renderer's growth at its peak. */
  readonly rendererPartsMiB: { anonymous: number; file: number; shared: number };
  readonly measuredPeakMiB: number | undefined;
}

/** Samples memory until the weights are on the GPU (the status says the kernels compile) or the load ends. */
async function sampleLoad(page: Page, heap: () => Promise<number>, start: () => Promise<void>): Promise<LoadMemory> {
  const baseline = rendererResident();
  let workerPeak = 0;
  let workerStart: number | undefined;
  let rendererPeak = 0;
  let rendererParts = { anonymous: 0, file: 0, shared: 0 };
  let measuredPeak: number | undefined;
  let done = false;
  const started = performance.now();
  const measure = (async () => {
    while (!done) {
      const bytes = await page
        .evaluate(async () => {
          const measureMemory = (performance as { measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }> })
            .measureUserAgentSpecificMemory;
          return crossOriginIsolated && measureMemory !== undefined
            ? (await measureMemory.call(performance)).bytes
            : undefined;
        })
        .catch(() => undefined); // the page navigating (a reload)
      if (bytes !== undefined) measuredPeak = Math.max(measuredPeak ?? 0, bytes);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  })();
  const sample = (async () => {
    while (!done) {
      const used = await heap().catch(() => 0);
      if (used > 0) workerStart ??= used;
      workerPeak = Math.max(workerPeak, used);
      for (const [pid, resident] of rendererResident()) {
        const before = baseline.get(pid) ?? resident;
        if (resident.total - before.total > rendererPeak) {
          rendererPeak = resident.total - before.total;
          rendererParts = {
            anonymous: (resident.anonymous - before.anonymous) / 1024,
            file: (resident.file - before.file) / 1024,
            shared: (resident.shared - before.shared) / 1024,
          };
        }
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  })();
  await start();
  await page.waitForSelector('#load-status[data-state="loading"]', { timeout: 600_000 });
  await page.waitForFunction(
    () => {
      const status = document.querySelector('#load-status');
      return status?.getAttribute('data-state') !== 'loading' || /Compiling/.test(status.textContent ?? '');
    },
    undefined,
    { timeout: 600_000, polling: 50 },
  );
  const seconds = (performance.now() - started) / 1000;
  done = true;
  await Promise.all([sample, measure]);
  const state = await page.locator('#load-status').getAttribute('data-state');
  if (state === 'failed') throw new Error(`the load failed: ${await page.locator('#url-error').textContent()}`);
  await page.waitForSelector('#load-status[data-state="loaded"]', { timeout: 600_000 });
  return {
    from: (await page.locator('#load-status').getAttribute('data-from')) ?? '',
    seconds,
    workerPeakMiB: workerPeak / MIB,
    workerStartMiB: (workerStart ?? 0) / MIB,
    rendererGrowthMiB: rendererPeak / 1024,
    rendererPartsMiB: rendererParts,
    measuredPeakMiB: measuredPeak === undefined ? undefined : measuredPeak / MIB,
  };
}

async function main(): Promise<void> {
  const scratch = mkdtempSync(join(tmpdir(), 'strata-web-memory-'));
  const modelPath = values.keep ?? join(scratch, 'model.gguf');
  try {
    if (values.keep === undefined || !readdirSync(join(modelPath, '..')).includes(modelPath.split('/').pop()!)) {
      await writeRandomGguf(dimensions, 'Q8_0', modelPath);
    }
    const gguf = await openGgufFile(modelPath);
    let largest = 0;
    for (const entry of gguf.tensors.tensors.values()) largest = Math.max(largest, entry.byteLength);
    const bytes = new Uint8Array(readFileSync(modelPath));
    const boundMiB = largest / MIB + 64;
    const outDir = join(scratch, 'app');
    await buildApp(outDir);
    const isolation = { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' };
    const { server, origin } = await serveApp(outDir, isolation);
    const models = await serveModels(new Map([['/model.gguf', bytes]]));
    const results: LoadMemory[] = [];
    try {
      for (let run = 0; run < Number(values.runs); run++) {
        // A profile on disk, as a user's: a new context of a launched browser is off the record, and there OPFS
        // keeps its files in memory.
        const context = await chromium.launchPersistentContext(join(scratch, `profile-${run}`), {
          executablePath: CHROMIUM,
          args: [...CHROMIUM_ARGS, '--enable-blink-features=ForceEagerMeasureMemory'],
        });
        const page = context.pages()[0] ?? (await context.newPage());
        page.setDefaultTimeout(600_000);
        await page.goto(origin);
        await page.waitForSelector('#gpu-status[data-state]');
        const heap = await workerHeap(page);
        await page.fill('#context-length', '256');
        const report = (result: LoadMemory) => {
          results.push(result);
          console.log(JSON.stringify(result));
        };
        report(
          await sampleLoad(page, heap, async () => {
            await page.fill('#model-url', `${models.base}/model.gguf`);
            await page.click('#load-url');
          }),
        );
        // After a reload the app loads the last URL again, from OPFS.
        let reloaded: Promise<() => Promise<number>> | undefined;
        report(
          await sampleLoad(
            page,
            async () => (await reloaded)?.() ?? 0,
            async () => {
              await page.reload();
              reloaded = workerHeap(page);
            },
          ),
        );
        await context.close();
      }
    } finally {
      server.close();
      await models.close();
    }
    const file = { fileMiB: bytes.byteLength / MIB, largestTensorMiB: largest / MIB, boundMiB };
    console.log(JSON.stringify(file));
    console.log(
      `file ${file.fileMiB.toFixed(0)} MiB, largest tensor ${file.largestTensorMiB.toFixed(1)} MiB, bound ${boundMiB.toFixed(1)} MiB`,
    );
    console.log(
      'from    | s     | worker heap+buffers peak (at start) | renderer RSS growth | measureUserAgentSpecificMemory peak',
    );
    for (const result of results) {
      console.log(
        `${result.from.padEnd(7)} | ${result.seconds.toFixed(1).padStart(5)} | ${result.workerPeakMiB.toFixed(1).padStart(9)} MiB (${result.workerStartMiB.toFixed(1)} MiB) | ${result.rendererGrowthMiB.toFixed(1).padStart(15)} MiB | ${result.measuredPeakMiB?.toFixed(1) ?? 'n/a'} MiB`,
      );
    }
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

await main();
