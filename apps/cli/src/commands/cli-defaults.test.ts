import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { CommandOutput } from '../command.js';
import { adapterName, chooseBackend, isSoftwareAdapter, probeWebGpuAdapter } from './backend-choice.js';
import { benchCommand } from './bench.js';
import { type ChatInput, runChat } from './chat.js';
import { logitsCommand } from './logits.js';
import { runCommand } from './run.js';

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const LLAMA = join(ROOT, '../shared/fixtures/models/llama');
const QWEN3 = join(ROOT, '../shared/fixtures/models/qwen3/model-f32.gguf');
const scratch = mkdtempSync(join(tmpdir(), 'strata-cli-'));

function capture(errorIsTerminal?: boolean) {
  const sink = { out: '', error: '' };
  const output: CommandOutput = {
    out: (text) => {
      sink.out += text;
    },
    error: (text) => {
      sink.error += text;
    },
    ...(errorIsTerminal === undefined ? {} : { errorIsTerminal }),
  };
  return { sink, output };
}

function lines(...texts: string[]): ChatInput {
  return { question: async () => texts.shift(), close() {} };
}

/** Runs the CLI's entry point in a new Node process (through tsx, on the sources). */
function strata(...argv: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  const tsx = join(ROOT, 'node_modules/tsx/dist/cli.mjs');
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      [tsx, '--conditions=@strata/source', join(ROOT, 'apps/cli/src/main.ts'), ...argv],
      { cwd: ROOT, encoding: 'utf8', timeout: 120_000 },
      (error, stdout, stderr) => resolve({ code: error === null ? 0 : Number(error.code ?? 1), stdout, stderr }),
    );
  });
}

const CPU_GREEDY = ['-n', '4', '--temp', '0', '--ignore-eos', '--backend', 'cpu'];

describe('usage errors exit 2 before any model loads', () => {
  const MISSING = join(scratch, 'no-such-model.gguf'); // loading it would fail with status 1
  it.for([
    [['--top-p', '2'], '--top-p'],
    [['-n', '0'], '--n-predict'],
    [['--seed', '1.5'], '--seed'],
    [['--backend', 'tpu'], '--backend tpu'],
    [['--ctx', '1'], '--ctx'],
    [['--chunk-size', '0'], '--chunk-size'],
    [['--temp=-1'], '--temp'],
  ] as const)('%s', async ([flags, named]) => {
    for (const command of [
      (output: CommandOutput) => runCommand.run([MISSING, '-p', 'x', ...flags], output),
      (output: CommandOutput) => runChat([MISSING, ...flags], output, lines('hi')),
    ]) {
      const { sink, output } = capture();
      expect(await command(output)).toBe(2);
      expect(sink.error).toContain(named);
      expect(sink.error).not.toMatch(/^loaded |loading \[|Cannot open|IO_ERROR/m);
    }
  });

  it('bench and chat check their own flags too', async () => {
    const { sink, output } = capture();
    expect(await benchCommand.run([join(scratch, 'missing.gguf'), '--backend', 'tpu'], output)).toBe(2);
    expect(await logitsCommand.run([join(scratch, 'missing.gguf'), '--ids', '1,2', '--backend', 'tpu'], output)).toBe(
      2,
    );
    expect(await runChat([LLAMA, '--context-overflow', 'wrap'], output, lines())).toBe(2);
    expect(await runChat([LLAMA, '--keep', '4'], output, lines())).toBe(2);
    expect(sink.error).toContain('--context-overflow wrap');
    expect(sink.error).not.toContain('loaded');
  });
});

describe('the default backend', () => {
  it('tells software adapters (lavapipe, llvmpipe, SwiftShader) from hardware ones by adapter.info', () => {
    const llvmpipe = {
      vendor: 'mesa',
      architecture: 'software',
      device: 'llvmpipe-llvm-15-0-6-256-bits-',
      description: 'llvmpipe: Mesa 25.0.7 (LLVM 15.0.6)',
      isFallbackAdapter: true,
    };
    expect(isSoftwareAdapter(llvmpipe)).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'google', device: 'SwiftShader Device (Subzero)', description: '' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'mesa', description: 'lavapipe' })).toBe(true);
    const nvidia = { vendor: 'nvidia', architecture: 'hopper', device: '', description: 'NVIDIA H100 80GB HBM3' };
    expect(isSoftwareAdapter(nvidia)).toBe(false);
    expect(adapterName(nvidia)).toBe('NVIDIA H100 80GB HBM3');
    expect(adapterName({ vendor: 'apple', device: 'M3' })).toBe('apple M3');
  });

  it('is the CPU on a machine whose only adapter is a software one (one line says so), else WebGPU', async () => {
    const probed = await probeWebGpuAdapter();
    const { sink, output } = capture();
    const chosen = await chooseBackend(undefined, output);
    chosen.release();
    if (probed === undefined || isSoftwareAdapter(probed)) {
      expect(chosen.label).toBe('cpu');
      expect(sink.error.trimEnd().split('\n')).toHaveLength(1);
      if (probed !== undefined) expect(sink.error).toContain(`software one (${adapterName(probed)}); using the CPU`);
    } else {
      expect(chosen.label).toBe(`webgpu: ${adapterName(probed)}`);
      expect(sink.error).toBe('');
    }
  });

  it('--backend webgpu uses WebGPU whatever the adapter, and its label names the adapter', async (context) => {
    const probed = await probeWebGpuAdapter();
    if (probed === undefined) return context.skip('no WebGPU adapter on this machine');
    const { sink, output } = capture();
    const chosen = await chooseBackend('webgpu', output);
    try {
      expect(chosen.backend.name).toBe('webgpu');
      expect(chosen.label).toBe(`webgpu: ${adapterName(probed)}`);
      expect(sink.error).toBe('');
    } finally {
      chosen.release();
    }
  });

  it("in a real process: no Dawn warnings reach stderr, and the stats name the backend's adapter", async () => {
    const probed = await probeWebGpuAdapter();
    const { code, stdout, stderr } = await strata('run', LLAMA, '-p', 'hi', '-n', '2', '--temp', '0', '--ignore-eos');
    expect(code).toBe(0);
    expect(stdout.length).toBeGreaterThan(0);
    expect(stderr).not.toContain('artificially reduced');
    expect(stderr).not.toContain('\r'); // stderr is a pipe here: no redrawn progress bar
    const label = probed === undefined || isSoftwareAdapter(probed) ? 'cpu' : `webgpu: ${adapterName(probed)}`;
    expect(stderr).toContain(`[${label}] prompt`);
  });

  it('strata --version prints the version', async () => {
    const { code, stdout } = await strata('--version');
    expect(code).toBe(0);
    expect(stdout).toMatch(/^strata \d+\.\d+\.\d+\n$/);
  });
});

describe('strata run: -f FILE, --json, progress', () => {
  it('-f reads the prompt from a file and gives what -p gives; a missing file is a usage error', async () => {
    const prompt = join(scratch, 'prompt.txt');
    writeFileSync(prompt, 'def fibonacci(n):');
    const fromFile = capture();
    expect(await runCommand.run([LLAMA, '-f', prompt, ...CPU_GREEDY], fromFile.output)).toBe(0);
    const inline = capture();
    expect(await runCommand.run([LLAMA, '-p', 'def fibonacci(n):', ...CPU_GREEDY], inline.output)).toBe(0);
    expect(fromFile.sink.out).toBe(inline.sink.out);
    const missing = capture();
    expect(await runCommand.run([LLAMA, '-f', join(scratch, 'nope.txt'), ...CPU_GREEDY], missing.output)).toBe(2);
    expect(missing.sink.error).toContain('-f ');
    expect(await runCommand.run([LLAMA, '-f', prompt, '-p', 'x', ...CPU_GREEDY], missing.output)).toBe(2);
  });

  it('--json prints one JSON object with the text, tokens, finish reason, stats and backend', async () => {
    const { sink, output } = capture();
    expect(await runCommand.run([LLAMA, '-p', 'def fibonacci(n):', ...CPU_GREEDY, '--json'], output)).toBe(0);
    const result = JSON.parse(sink.out) as Record<string, unknown>;
    expect(result).toMatchObject({ finishReason: 'max-tokens', backend: 'cpu' });
    expect(result.tokens).toHaveLength(4);
    expect(typeof result.text).toBe('string');
    expect((result.stats as { generatedTokens: number }).generatedTokens).toBe(4);
    const plain = capture();
    await runCommand.run([LLAMA, '-p', 'def fibonacci(n):', ...CPU_GREEDY], plain.output);
    expect(plain.sink.out).toBe(`${result.text as string}\n`);
  });

  it('redraws a progress bar only when stderr is a terminal', async () => {
    const piped = capture(false);
    await runCommand.run([LLAMA, '-p', 'x', ...CPU_GREEDY], piped.output);
    expect(piped.sink.error).not.toContain('\r');
    expect(piped.sink.error).toMatch(/^loaded [\d.]+ KiB\/[\d.]+ KiB · 21\/21 tensors$/m);
    const terminal = capture(true);
    await runCommand.run([LLAMA, '-p', 'x', ...CPU_GREEDY], terminal.output);
    expect(terminal.sink.error).toMatch(/\rloading \[#+\] 100%/);
  });
});

describe('strata chat', () => {
  it('/help and /reset are handled by the CLI, not sent to the model', async () => {
    const { sink, output } = capture();
    const code = await runChat([LLAMA, ...CPU_GREEDY, '--stats'], output, lines('/help', 'hello', '/reset', 'again'));
    expect(code).toBe(0);
    expect(sink.error).toContain('/reset   forget the conversation');
    expect(sink.error).toContain('[conversation reset]');
    // Two turns reached the model, the second without the first in its cache.
    const stats = sink.error.split('\n').filter((line) => line.startsWith('[cpu] prompt'));
    expect(stats).toHaveLength(2);
    expect(stats[1]).not.toContain('cached');
  });

  it('-c 64 keeps going turn after turn; a message longer than the context is refused naming --ctx', async () => {
    const { sink, output } = capture();
    const turns = [
      'tell me a story about a fox',
      'and then what happened to the fox?',
      'x '.repeat(100),
      'how does it end? tell me the ending',
      'thank you, that was a nice story',
    ];
    const argv = [QWEN3, '-c', '64', '-n', '12', '--temp', '0', '--ignore-eos', '--backend', 'cpu', '--stats'];
    expect(await runChat(argv, output, lines(...turns))).toBe(0);
    const replies = sink.error.split('\n').filter((line) => line.startsWith('[cpu] prompt'));
    expect(replies).toHaveLength(4);
    expect(sink.error).toMatch(/this message needs \d+ tokens but the context holds 64; .*--ctx/);
  });
});
