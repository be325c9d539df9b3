import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesSource, openModel, tokenizerFromModel } from '@strata/loaders';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildApp, CHROMIUM, CHROMIUM_ARGS, serveApp } from './testing/browser-harness.js';

// The browser half of strata, end to end: the production build of this app in Debian's Chromium (headless, WebGPU on
// its CPU Vulkan), a fixture GGUF fed through the file input, greedy tokens compared with transformers'.
const LLAMA = fileURLToPath(new URL('../../../../shared/fixtures/models/llama/', import.meta.url));
let outDir: string;
let server: Server;
let origin: string;
let browser: Browser;
let page: Page;
const pageErrors: string[] = [];

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `${CHROMIUM} is missing: run .ci/install-system.sh (as root) to install Debian's Chromium, as CI does.`,
    );
  }
  outDir = mkdtempSync(join(tmpdir(), 'strata-web-'));
  await buildApp(outDir);
  ({ server, origin } = await serveApp(outDir));
  browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
  page = await browser.newPage({ viewport: { width: 900, height: 1000 } });
  // Loading compiles every kernel on a CPU-emulated GPU; under a full parallel test run that can take a while.
  page.setDefaultTimeout(120_000);
  page.on('pageerror', (error) => pageErrors.push(error.message));
  page.on('console', (message) => {
    if (message.type() === 'error') pageErrors.push(`${message.text()} (${message.location().url})`);
  });
  await page.goto(origin);
});

afterAll(async () => {
  await browser?.close();
  server?.close();
  if (outDir !== undefined) rmSync(outDir, { recursive: true, force: true });
});

interface GreedyReference {
  readonly input_ids: number[];
  readonly greedy_new_tokens: number[];
}

const reference = (name: string) => JSON.parse(readFileSync(join(LLAMA, name), 'utf8')) as GreedyReference;

/** Fails at once (rather than after the action timeouts) when an earlier step left no model loaded. */
async function expectModelLoaded(): Promise<void> {
  const state = await page.locator('#load-status').getAttribute('data-state');
  expect(state, `no model is loaded: ${await page.locator('#error').textContent()}`).toBe('loaded');
}

/** Generates greedily from the reference's input ids through the page's prompt box, with token probabilities on. */
async function generateFromIds(expected: GreedyReference): Promise<void> {
  await page.click('#tab-complete');
  await page.check('#prompt-ids');
  await page.fill('#prompt', expected.input_ids.join(', '));
  await page.fill('#max-tokens', String(expected.greedy_new_tokens.length));
  await page.fill('#temperature', '0');
  await page.check('#show-probabilities');
  await page.click('#generate');
  await page.waitForSelector('#stats[data-state="done"], #stats[data-state="failed"]');
  expect(await page.locator('#error').textContent()).toBe('');
  expect(await page.locator('#stats').textContent()).toMatch(/first token \d+ ms .* generated at [\d.]+ tok\/s/);
  expect((await page.locator('#output').textContent())!.length).toBeGreaterThan(0);
}

/**
 * The page's generated tokens must be transformers' greedy tokens exactly (float32 paths match greedy tokens exactly:
 * fixtures README), each its step's best alternative. Step 7 is a near-tie (1.2e-3 in log-probability), so this also
 * checks that the browser's kernels (RoPE's own sin/cos included) are as accurate as on Node.
 */
async function expectReferenceTokens(transformers: GreedyReference): Promise<void> {
  const ids = (await page.locator('#token-ids').textContent())!.split(', ').map(Number);
  // Each step of the token list: the chosen token's text and id, and the step's most likely tokens (OpenAI's
  // completions logprobs: text → log-probability, best first).
  const steps = await page.locator('#token-list li').evaluateAll((items) =>
    items.map((item) => {
      const data = (item as HTMLElement).dataset;
      return {
        text: data.text!,
        token: Number(data.token),
        best: (JSON.parse(data.alternatives!) as [string, number][])[0]![0],
      };
    }),
  );
  expect(steps.map((step) => step.best)).toEqual(steps.map((step) => step.text)); // greedy: each token is its step's best
  expect(steps.map((step) => step.token)).toEqual(ids);
  expect(ids).toEqual(transformers.greedy_new_tokens);
}

describe('apps/web in headless Chromium', () => {
  it('loads the llama fixture GGUF on WebGPU and generates the reference greedy tokens', async () => {
    const transformers = reference('expected.json');
    await page.waitForSelector('#gpu-status[data-state]');
    const gpu = await page.locator('#gpu-status').getAttribute('data-state');
    expect(gpu, `Chromium has no WebGPU adapter: ${await page.locator('#error').textContent()}`).toBe('ok');

    await page.setInputFiles('#gguf-input', join(LLAMA, 'model-f32.gguf'));
    await page.waitForSelector('#load-status[data-state="loaded"], #load-status[data-state="failed"]');
    expect(await page.locator('#error').textContent()).toBe('');
    expect(await page.locator('#load-status').getAttribute('data-state')).toBe('loaded');
    expect(await page.locator('#load-progress').evaluate((bar: HTMLProgressElement) => bar.value)).toBe(1);
    expect(await page.locator('#model-info').textContent()).toContain('llama');

    // The references start from their 24 input ids (a prefix of the tokenized prompt), so enter them as ids.
    await generateFromIds(transformers);
    await expectReferenceTokens(transformers);

    await page.screenshot({ path: join(process.env.TMPDIR ?? tmpdir(), 'strata-web-e2e.png'), fullPage: true });
    expect(pageErrors).toEqual([]);
  });

  it('chats through the model’s chat template, rendered as transformers renders it', async () => {
    await expectModelLoaded();
    // The fixture's chat example, rendered by transformers, tokenized here with the GGUF's tokenizer.
    const { chat_example: example } = JSON.parse(readFileSync(join(LLAMA, 'expected.json'), 'utf8')) as {
      chat_example: { messages: { role: string; content: string }[]; rendered: string };
    };
    const tokenizer = tokenizerFromModel(await openModel(bytesSource(readFileSync(join(LLAMA, 'model-f32.gguf')))));
    const renderedIds = tokenizer.encode(example.rendered, { addSpecial: false, parseSpecial: true });

    await page.click('#tab-chat');
    await page.fill('#max-tokens', '6');
    await page.fill('#temperature', '0');
    await page.fill('#chat-input', example.messages[0]!.content);
    await page.click('#generate');
    await page.waitForSelector('#stats[data-state="done"], #stats[data-state="failed"]');
    expect(await page.locator('#error').textContent()).toBe('');
    expect(
      await page.locator('#chat-log li').evaluateAll((items) => items.map((item) => item.getAttribute('data-role'))),
    ).toEqual(['user', 'assistant']);
    expect(await page.locator('#chat-log li[data-role="user"]').textContent()).toBe(example.messages[0]!.content);
    expect(await page.locator('#stats').textContent()).toContain(`prompt ${renderedIds.length} tokens`);
    const chatTokens = await page.locator('#token-ids').textContent();
    expect(chatTokens!.split(', ')).toHaveLength(6);
    await page.screenshot({ path: join(process.env.TMPDIR ?? tmpdir(), 'strata-web-e2e-chat.png'), fullPage: true });

    // The same ids as a plain prompt give the same greedy reply: the chat prompt was exactly transformers' rendering.
    await generateFromIds({ input_ids: renderedIds, greedy_new_tokens: new Array(6).fill(0) });
    expect(await page.locator('#token-ids').textContent()).toBe(chatTokens);
    expect(pageErrors).toEqual([]);
  });

  it('loads the llama fixture as a Hugging Face folder (safetensors, tokenizer.json) and matches the references', async () => {
    await page.setInputFiles('#folder-input', LLAMA);
    await page.waitForSelector('#load-status[data-state="loaded"], #load-status[data-state="failed"]');
    expect(await page.locator('#error').textContent()).toBe('');
    expect(await page.locator('#load-status').getAttribute('data-state')).toBe('loaded');
    expect(await page.locator('#model-info').textContent()).toContain('Hugging Face safetensors');
    await generateFromIds(reference('expected.json'));
    await expectReferenceTokens(reference('expected.json'));
    expect(pageErrors).toEqual([]);
  });

  it('stops a running generation', async () => {
    await expectModelLoaded();
    await page.click('#tab-complete');
    await page.uncheck('#prompt-ids');
    await page.uncheck('#show-probabilities');
    await page.fill('#prompt', 'def fibonacci(n):');
    await page.fill('#max-tokens', '200');
    await page.click('#generate');
    await page.waitForFunction(() => /^\d+ tokens/.test(document.querySelector('#stats')?.textContent ?? ''));
    await page.click('#stop');
    await page.waitForSelector('#stats[data-state="done"], #stats[data-state="failed"]');
    expect(await page.locator('#stats').textContent()).toContain('stop: aborted');
    expect((await page.locator('#token-ids').textContent())!.split(', ').length).toBeLessThan(200);
    expect(pageErrors).toEqual([]);
  });

  it('says what is wrong with picked files that are no model, and keeps the loaded one', async () => {
    await expectModelLoaded();
    for (const [picked, message] of [
      ['chat_template.jinja', /^INVALID_ARGUMENT: .*pick a \.gguf file/],
      ['config.json', /^INVALID_FILE: .*safetensors/], // a folder pick with config.json but no weights
    ] as const) {
      await page.setInputFiles('#gguf-input', join(LLAMA, picked));
      await page.waitForSelector('#error:not([hidden])');
      expect(await page.locator('#error').textContent()).toMatch(message);
      expect(await page.locator('#load-status').getAttribute('data-state')).toBe('loaded');
      expect(await page.locator('#load-status').textContent()).toContain('llama is still loaded');
    }
    const { input_ids, greedy_new_tokens } = reference('expected.json');
    await generateFromIds({ input_ids, greedy_new_tokens: greedy_new_tokens.slice(0, 3) });
    expect(await page.locator('#token-ids').textContent()).toBe(greedy_new_tokens.slice(0, 3).join(', '));
  });
});
