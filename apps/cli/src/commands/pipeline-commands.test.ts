import { fileURLToPath } from 'node:url';
import { createCpuBackend } from '@strata/kernels-cpu';
import { TextPipeline } from '@strata/pipeline';
import { describe, expect, it } from 'vitest';
import { benchCommand } from './bench.js';
import { runChat } from './chat.js';
import { runCommand } from './run.js';

const LLAMA = fileURLToPath(new URL('../../../../../shared/fixtures/models/llama', import.meta.url));
const QUANT_BASE = fileURLToPath(new URL('../../../../../shared/fixtures/models/quant-base', import.meta.url));

function capture() {
  const sink = { out: '', error: '' };
  return { sink, output: { out: (text: string) => (sink.out += text), error: (text: string) => (sink.error += text) } };
}

describe('strata run / chat / bench (CPU backend, tiny llama fixture)', () => {
  it('run streams the greedy continuation to stdout and stats to stderr', async () => {
    const { sink, output } = capture();
    const code = await runCommand.run(
      [LLAMA, '-p', 'def fibonacci(n):', '-n', '10', '--temp', '0', '--backend', 'cpu', '--ignore-eos'],
      output,
    );
    expect(code).toBe(0);
    const pipeline = await TextPipeline.load(LLAMA, { backend: createCpuBackend(), contextLength: 64 });
    const expected = await pipeline
      .generate('def fibonacci(n):', { maxTokens: 10, ignoreEndOfGeneration: true })
      .text();
    expect(sink.out).toBe(`${expected}\n`);
    expect(sink.error).toMatch(/^loaded .* 21\/21 tensors$/m); // stderr is not a terminal here: no redrawn bar
    expect(sink.error).toMatch(
      /\[cpu\] prompt \d+ tokens · prefill [\d.]+ tok\/s .* generated 10 tokens .* stop: max-tokens/,
    );
  });

  it('run rejects bad arguments with exit code 2', async () => {
    const { sink, output } = capture();
    expect(await runCommand.run([LLAMA], output)).toBe(2);
    expect(await runCommand.run([LLAMA, '-p', 'x', '--temp', 'hot'], output)).toBe(2);
    expect(sink.error).toContain('--temp hot is not a number');
    expect(await runCommand.run([LLAMA, '-p', 'x', '--bogus'], output)).toBe(2);
    expect(await runCommand.run([LLAMA, '-p', 'x', '--backend', 'cpu', '--cache-type', 'q8'], output)).toBe(2);
    expect(sink.error).toContain('--cache-type q8: choose f32, f16 or q8_0');
  });

  it('run --cache-type f16 generates with an f16 KV cache, as the pipeline option does', async () => {
    const { sink, output } = capture();
    const argv = [LLAMA, '-p', 'def fibonacci(n):', '-n', '6', '--temp', '0', '--backend', 'cpu', '--ignore-eos'];
    expect(await runCommand.run([...argv, '--cache-type', 'f16'], output)).toBe(0);
    const options = { backend: createCpuBackend(), contextLength: 64, cacheType: 'f16' } as const;
    const pipeline = await TextPipeline.load(LLAMA, options);
    const expected = await pipeline.generate('def fibonacci(n):', { maxTokens: 6, ignoreEndOfGeneration: true }).text();
    expect(sink.out).toBe(`${expected}\n`);
  });

  it('run --cache-type q8_0 generates with a q8_0 KV cache, as the pipeline option does (quant-base: heads of 64)', async () => {
    const { sink, output } = capture();
    const argv = [QUANT_BASE, '-p', 'def fibonacci(n):', '-n', '12', '--temp', '0', '--backend', 'cpu', '--ignore-eos'];
    expect(await runCommand.run([...argv, '--cache-type', 'q8_0'], output)).toBe(0);
    const text = async (cacheType: 'f32' | 'q8_0') => {
      const pipeline = await TextPipeline.load(QUANT_BASE, {
        backend: createCpuBackend(),
        contextLength: 64,
        cacheType,
      });
      return pipeline.generate('def fibonacci(n):', { maxTokens: 12, ignoreEndOfGeneration: true }).text();
    };
    const expected = await text('q8_0');
    expect(sink.out).toBe(`${expected}\n`);
    // The two caches part ways within these 12 tokens, so an ignored flag would show.
    expect(expected).not.toBe(await text('f32'));
  });

  it('chat keeps the conversation, reuses the cache between turns, and /reset starts over', async () => {
    const { sink, output } = capture();
    const lines = ['hi there', 'and again', '/reset', 'fresh', '/exit'];
    const code = await runChat(
      [LLAMA, '-n', '4', '--temp', '0', '--ignore-eos', '--backend', 'cpu', '--stats'],
      output,
      {
        question: async () => lines.shift(),
        close() {},
      },
    );
    expect(code).toBe(0);
    const stats = sink.error.split('\n').filter((line) => line.startsWith('[cpu] prompt '));
    expect(stats).toHaveLength(3);
    expect(stats[0]).not.toContain('cached');
    expect(stats[1]).toMatch(/\((\d+) cached\)/); // the second turn starts with the first turn's tokens
    expect(stats[2]).not.toContain('cached');
    expect(sink.out.split('\n').filter((line) => line.length > 0).length).toBeGreaterThan(0);
  });

  it('bench prints pp and tg tokens/s as JSON', async () => {
    const { sink, output } = capture();
    const code = await benchCommand.run([LLAMA, '-p', '16', '-n', '4', '-r', '1', '--backend', 'cpu'], output);
    expect(code).toBe(0);
    const report = JSON.parse(sink.out) as {
      backend: string;
      pp: { tokens: number; tokensPerSecond: { mean: number } };
      tg: { tokens: number; tokensPerSecond: { mean: number } };
    };
    expect(report.backend).toBe('cpu');
    expect(report).toMatchObject({ cacheType: 'f32' });
    expect(report.pp.tokens).toBe(16);
    expect(report.pp.tokensPerSecond.mean).toBeGreaterThan(0);
    expect(report.tg.tokens).toBe(4);
    expect(report.tg.tokensPerSecond.mean).toBeGreaterThan(0);
    expect(await benchCommand.run([LLAMA, '-r', '0'], output)).toBe(2);
  });
});
