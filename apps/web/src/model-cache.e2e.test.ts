import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createCpuBackend } from '@strata/kernels-cpu';
import { type ChatMessage, dropOldestTurns, TextPipeline } from '@strata/pipeline';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  buildApp,
  CHROMIUM,
  CHROMIUM_ARGS,
  type ModelServer,
  serveApp,
  serveModels,
} from './testing/browser-harness.js';

// Models by URL in the browser, end to end: the production build in headless Chromium (WebGPU on its CPU Vulkan), the
// llama fixture served cross-origin from another local server, kept in the Origin Private File System.
const LLAMA = fileURLToPath(new URL('../../../../shared/fixtures/models/llama/', import.meta.url));
const MODEL_PATH = '/llama/model-f32.gguf';
const modelBytes = new Uint8Array(readFileSync(join(LLAMA, 'model-f32.gguf')));
const reference = JSON.parse(readFileSync(join(LLAMA, 'expected.json'), 'utf8')) as {
  input_ids: number[];
  greedy_new_tokens: number[];
};
const screenshots = process.env.STRATA_SCREENSHOTS ?? tmpdir();

let outDir: string;
let app: Server;
let origin: string;
let models: ModelServer;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: run .ci/install-system.sh (as root).`);
  outDir = mkdtempSync(join(tmpdir(), 'strata-web-cache-'));
  await buildApp(outDir);
  ({ server: app, origin } = await serveApp(outDir));
  models = await serveModels(new Map([[MODEL_PATH, modelBytes]]));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await (await browser.newContext({ viewport: { width: 900, height: 1100 } })).newPage();
  page.setDefaultTimeout(120_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  await page.goto(origin);
  await page.waitForSelector('#gpu-status[data-state]');
});

afterAll(async () => {
  await browser?.close();
  app?.close();
  await models?.close();
  if (outDir !== undefined) rmSync(outDir, { recursive: true, force: true });
});

async function loadByUrl(url: string): Promise<string | null> {
  await page.locator('#load-status').evaluate((status) => status.removeAttribute('data-state'));
  await page.fill('#model-url', url);
  await page.click('#load-url');
  return waitForLoad();
}

async function waitForLoad(): Promise<string | null> {
  await page.waitForSelector('#load-status[data-state="loaded"], #load-status[data-state="failed"]');
  // Start-up figures for the record (load, kernel compile, from where): printed, never asserted.
  console.log(
    `load status: ${await page.locator('#load-status').textContent()} (${await page.locator('#load-status').getAttribute('data-from')})`,
  );
  return page.locator('#load-status').getAttribute('data-state');
}

/** Greedy tokens from the reference's input ids, through the Complete tab. */
async function greedyTokens(): Promise<number[]> {
  await page.click('#tab-complete');
  await page.check('#prompt-ids');
  await page.fill('#prompt', reference.input_ids.join(', '));
  await page.fill('#max-tokens', String(reference.greedy_new_tokens.length));
  await page.fill('#temperature', '0');
  await page.click('#generate');
  await page.waitForSelector('#stats[data-state="done"], #stats[data-state="failed"]');
  return (await page.locator('#token-ids').textContent())!.split(', ').map(Number);
}

/** The SHA-256 of a file the page's cache stores, read from OPFS in the page. */
async function storedSha256(url: string): Promise<string> {
  const key = createHash('sha256').update(url).digest('hex');
  return page.evaluate(async (name) => {
    const folder = await (await navigator.storage.getDirectory()).getDirectoryHandle('strata-cache');
    const file = await (await folder.getFileHandle(`${name}.bin`)).getFile();
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await file.arrayBuffer()));
    return Array.from(digest, (byte) => byte.toString(16).padStart(2, '0')).join('');
  }, key);
}

describe('apps/web: models by URL, kept in OPFS', () => {
  it('loads by URL, then after a reload from OPFS with the model server stopped; a deleted model needs the network', async () => {
    const url = `${models.base}${MODEL_PATH}`;
    expect(await loadByUrl(url), (await page.locator('#url-error').textContent()) ?? '').toBe('loaded');
    expect(await page.locator('#load-status').getAttribute('data-from')).toBe('network');
    const limit = await page.locator('#context-length').getAttribute('max');
    expect(await page.locator('#context-length').inputValue()).toBe(limit ?? 'no max');
    expect(await greedyTokens()).toEqual(reference.greedy_new_tokens);
    expect(await storedSha256(url)).toBe(createHash('sha256').update(modelBytes).digest('hex'));
    await page.click('#cache-panel summary');
    await page.screenshot({ path: join(screenshots, 'strata-web-url-loaded.png'), fullPage: true });

    await models.close();
    await page.reload();
    expect(await waitForLoad(), (await page.locator('#url-error').textContent()) ?? '').toBe('loaded');
    expect(await page.locator('#load-status').getAttribute('data-from')).toBe('cache');
    expect(await page.locator('#load-status').textContent()).toMatch(/compiled ahead while loading/);
    expect(await greedyTokens()).toEqual(reference.greedy_new_tokens);

    await page.click('#cache-panel summary');
    await page.click(`#cached-models li[data-url="${url}"] button:text("Delete")`);
    await page.waitForFunction((gone) => !document.querySelector(`#cached-models li[data-url="${gone}"]`), url);
    // The model in memory stays loaded; the URL, no longer stored, needs the (stopped) server.
    expect(await loadByUrl(url)).toBe('loaded');
    expect(await page.locator('#url-error').textContent()).toMatch(/^NETWORK_ERROR/);
    expect(await page.locator('#load-status').textContent()).toContain('is still loaded');
    await page.screenshot({ path: join(screenshots, 'strata-web-url-deleted.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('a stopped or cut download resumes on the next load; the stored file is byte-identical', async () => {
    models = await serveModels(new Map([[MODEL_PATH, modelBytes]]));
    const url = `${models.base}${MODEL_PATH}`;
    const quarter = Math.floor(modelBytes.byteLength / 4);
    const cut = Math.floor(modelBytes.byteLength / 2);
    models.stallAfter(MODEL_PATH, quarter);
    await page.locator('#load-status').evaluate((status) => status.removeAttribute('data-state'));
    await page.fill('#model-url', url);
    await page.click('#load-url');
    await page.waitForFunction(() => /downloading/.test(document.querySelector('#load-status')?.textContent ?? ''));
    await page.click('#stop');
    expect(await waitForLoad()).toBe('failed');
    expect(await page.locator('#url-error').textContent()).toMatch(/^ABORTED: /);
    expect(await page.locator(`#cached-models li[data-url="${url}"]`).getAttribute('data-complete')).toBe('false');

    models.dropAfter(MODEL_PATH, cut);
    expect(await loadByUrl(url)).toBe('failed');
    const afterStop = models.requests.filter((request) => request.path === MODEL_PATH && request.status === 206)[1];
    expect(afterStop?.range).toBe(`bytes=${quarter}-`);
    expect(await page.locator('#url-error').textContent()).toMatch(/NETWORK_ERROR: .*stopped at byte \d+/);
    expect(await page.locator(`#cached-models li[data-url="${url}"]`).getAttribute('data-complete')).toBe('false');

    expect(await loadByUrl(url)).toBe('loaded');
    const resumed = models.requests.filter((request) => request.path === MODEL_PATH && request.status === 206).at(-1);
    const from = Number(/^bytes=(\d+)-$/.exec(resumed?.range ?? '')?.[1]);
    expect(from).toBeGreaterThan(0);
    expect(from).toBeLessThanOrEqual(cut);
    expect(await storedSha256(url)).toBe(createHash('sha256').update(modelBytes).digest('hex'));
    expect(await greedyTokens()).toEqual(reference.greedy_new_tokens);
    expect(pageErrors).toEqual([]);
  });

  it('a chat that overflows a small context keeps going with the system prompt, and comes back after a reload', async () => {
    const contextLength = 96;
    const system = 'Answer in rhymes.';
    await page.fill('#context-length', String(contextLength));
    expect(await loadByUrl(`${models.base}${MODEL_PATH}`)).toBe('loaded');
    expect(await page.locator('#context-length').inputValue()).toBe(String(contextLength));
    await page.click('#tab-chat');
    await page.click('#system-panel summary');
    await page.fill('#system-prompt', system);
    await page.fill('#max-tokens', '8');
    await page.fill('#temperature', '0');
    await page.fill('#chat-input', 'first line');
    await page.press('#chat-input', 'Shift+Enter');
    expect(await page.locator('#chat-input').inputValue()).toBe('first line\n');
    expect(await page.locator('#chat-log li').count()).toBe(0);

    // The same conversation on the CPU reference: the fitted messages (system prompt first) give the same greedy tokens.
    const reference = await TextPipeline.load(LLAMA, { backend: createCpuBackend(), contextLength });
    const encode = (messages: readonly ChatMessage[]) =>
      reference.tokenizer.encode(reference.renderChat(messages), { addSpecial: false, parseSpecial: true });
    const history: ChatMessage[] = [];
    let contextStart = 0;
    let turns = 0;
    while ((await page.locator('#chat-log li.note').count()) === 0 || turns < 2) {
      expect(turns, 'the context never overflowed').toBeLessThan(10);
      const content = `message ${turns}`;
      await page.fill('#chat-input', content);
      await page.press('#chat-input', 'Enter');
      await page.waitForSelector('#stats[data-state="done"], #stats[data-state="failed"]');
      expect((await page.locator('#chat-error').textContent()) ?? '').toBe('');
      history.push({ role: 'user', content });
      const fitted = dropOldestTurns([{ role: 'system', content: system }, ...history.slice(contextStart)], encode, {
        contextLength,
        replyRoom: 8,
      });
      contextStart += fitted.droppedMessages;
      expect(fitted.messages[0]?.content).toBe(system);
      const expected = await reference.chat(fitted.messages, {
        maxTokens: Math.min(8, contextLength - fitted.ids.length),
        temperature: 0,
      }).result;
      await reference.reset();
      expect(await page.locator('#token-ids').textContent()).toBe(expected.tokens.join(', '));
      history.push({ role: 'assistant', content: expected.text });
      turns += 1;
    }
    await reference.dispose();
    expect(contextStart).toBeGreaterThan(0);
    expect(await page.locator('#chat-log li.note').textContent()).toContain('system prompt still applies');
    expect(await page.locator('#context-text').textContent()).toMatch(new RegExp(`^\\d+ / ${contextLength} tokens`));
    await page.screenshot({ path: join(screenshots, 'strata-web-chat-overflow.png'), fullPage: true });

    await page.reload();
    expect(await waitForLoad()).toBe('loaded');
    await page.click('#tab-chat');
    expect(await page.locator('#chat-log li[data-role="user"]').count()).toBe(turns);
    expect(await page.locator('#chat-list li').count()).toBe(1);
    expect(await page.locator('#system-prompt').inputValue()).toBe(system);
    expect(await page.locator('#max-tokens').inputValue()).toBe('8');
    expect(pageErrors).toEqual([]);
  });
});
