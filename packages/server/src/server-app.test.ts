import { readdirSync, readFileSync } from 'node:fs';
import { createCpuBackend } from '@strata/kernels-cpu';
import { loadScheduler } from '@strata/pipeline';
import { describe, expect, it } from 'vitest';
import { isAuthorized } from './authorization.js';
import { createServerApp } from './server-app.js';

const MODEL = new URL('../../../../shared/fixtures/models/llama/model-f32.gguf', import.meta.url).pathname;

async function app(options: { corsOrigin?: string; bodyLimitBytes?: number } = {}) {
  const scheduler = await loadScheduler(MODEL, { backend: createCpuBackend(), contextLength: 64 });
  return createServerApp({ models: [{ name: 'llama', scheduler }], ...options });
}

describe('server app (fetch handler, no socket)', () => {
  it('limits the body size with a 413 in OpenAI error shape', async () => {
    const served = await app({ bodyLimitBytes: 1000 });
    const response = await served.app.fetch(
      new Request('http://localhost/v1/completions', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'llama', prompt: 'x'.repeat(2000) }),
      }),
    );
    expect(response.status).toBe(413);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('request_too_large');
    const malformed = await served.app.fetch(
      new Request('http://localhost/v1/completions', { method: 'POST', body: '{not json' }),
    );
    expect(malformed.status).toBe(400);
    expect(((await malformed.json()) as { error: { param: string } }).error.param).toBe('body');
    await served.close();
  });

  it('sends CORS headers only for the configured origin', async () => {
    const closed = await app();
    const request = () => new Request('http://localhost/v1/models', { headers: { origin: 'https://example.test' } });
    expect((await closed.app.fetch(request())).headers.get('access-control-allow-origin')).toBeNull();
    const open = await app({ corsOrigin: 'https://example.test' });
    expect((await open.app.fetch(request())).headers.get('access-control-allow-origin')).toBe('https://example.test');
    await Promise.all([closed.close(), open.close()]);
  });

  it('accepts only the exact bearer key', () => {
    expect(isAuthorized('Bearer secret', 'secret')).toBe(true);
    expect(isAuthorized('bearer secret', 'secret')).toBe(true);
    expect(isAuthorized('Bearer secret2', 'secret')).toBe(false);
    expect(isAuthorized('secret', 'secret')).toBe(false);
    expect(isAuthorized(undefined, 'secret')).toBe(false);
    expect(isAuthorized('Bearer ', '')).toBe(false);
  });

  it('the scheduler and the in-process API import nothing from Node (they run in a browser Worker)', () => {
    for (const folder of ['scheduler', 'openai']) {
      const directory = new URL(`../../pipeline/src/${folder}/`, import.meta.url);
      for (const file of readdirSync(directory).filter((name) => name.endsWith('.ts') && !name.endsWith('.test.ts'))) {
        expect(readFileSync(new URL(file, directory), 'utf8'), `${folder}/${file}`).not.toMatch(/from 'node:/);
      }
    }
  });
});
