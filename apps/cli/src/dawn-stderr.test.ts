import { execFile, spawn } from 'node:child_process';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { probeWebGpuAdapter } from './commands/backend-choice.js';
import { dawnNoiseFilter, opensWebGpu } from './dawn-stderr.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const LLAMA = join(ROOT, '../shared/fixtures/models/llama');
const NOISE =
  'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n';

function filtered(chunks: readonly string[]): { text: string; writes: string[] } {
  const writes: string[] = [];
  const filter = dawnNoiseFilter((text) => writes.push(text));
  for (const chunk of chunks) filter.push(chunk);
  filter.end();
  return { text: writes.join(''), writes };
}

describe("Dawn's native warnings", () => {
  it('are dropped from stderr, split across chunks or not, and nothing else is', () => {
    expect(filtered([NOISE, 'loaded 21/21 tensors\n', NOISE]).text).toBe('loaded 21/21 tensors\n');
    const split = [NOISE.slice(0, 4), NOISE.slice(4, 30), `${NOISE.slice(30)}> `];
    expect(filtered(split).text).toBe('> ');
    expect(filtered(['Warning: something else\n', 'abc Warning: x artificially reduced from 1 to 2\n']).text).toBe(
      'Warning: something else\nabc Warning: x artificially reduced from 1 to 2\n',
    );
    // A prompt without a newline is passed on at once, not held back.
    expect(filtered(['> ']).writes).toEqual(['> ']);
    expect(filtered(['partial', ` line ${NOISE}`]).text).toBe(`partial line ${NOISE}`);
  });

  it('are filtered when a command opens WebGPU itself (--backend webgpu)', () => {
    expect(opensWebGpu(['model', '--backend', 'webgpu'])).toBe(true);
    expect(opensWebGpu(['model', '--backend=webgpu'])).toBe(true);
    expect(opensWebGpu(['model', '--backend', 'cpu'])).toBe(false);
    expect(opensWebGpu(['model'])).toBe(false);
  });

  it('never reach the terminal of `strata run --backend webgpu` (a real process)', async (context) => {
    if ((await probeWebGpuAdapter()) === undefined) return context.skip('no WebGPU adapter on this machine');
    const tsx = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
    const argv = ['run', LLAMA, '-p', 'hi', '-n', '1', '--temp', '0', '--backend', 'webgpu'];
    const { code, stderr } = await new Promise<{ code: number; stderr: string }>((resolve) => {
      execFile(
        process.execPath,
        [tsx, '--conditions=@strata/source', join(ROOT, 'apps/cli/src/main.ts'), ...argv],
        { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
        (error, _stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code ?? 1), stderr }),
      );
    });
    expect(code).toBe(0);
    expect(stderr).toContain('[webgpu: ');
    expect(stderr).not.toContain('artificially reduced');
  });

  it('a SIGINT sent to the CLI alone (no terminal) shuts the filtered `strata serve` child down', async (context) => {
    if ((await probeWebGpuAdapter()) === undefined) return context.skip('no WebGPU adapter on this machine');
    const tsx = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
    const argv = ['serve', '--model', `m=${LLAMA}`, '--port', '0', '--backend', 'webgpu', '--parallel', '1'];
    const cli = spawn(
      process.execPath,
      [tsx, '--conditions=@strata/source', join(ROOT, 'apps/cli/src/main.ts'), ...argv],
      {
        cwd: ROOT,
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    cli.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    const exited = new Promise<number | null>((resolve) => cli.once('exit', (code) => resolve(code)));
    await new Promise<void>((resolve, reject) => {
      cli.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('strata: serving')) resolve();
      });
      cli.once('exit', () => reject(new Error(`strata serve exited before it was ready: ${stderr}`)));
    });
    // Only the CLI's own process gets the signal, as from a supervisor or a load generator.
    cli.kill('SIGINT');
    const timeout = setTimeout(() => cli.kill('SIGKILL'), 60_000);
    const code = await exited;
    clearTimeout(timeout);
    expect(stderr).toContain('strata: shutting down');
    expect(code).toBe(0);
  }, 120_000);
});
