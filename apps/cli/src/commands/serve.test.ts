import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { byteSize, runServe } from './serve.js';

const LLAMA = fileURLToPath(new URL('../../../../../shared/fixtures/models/llama', import.meta.url));
const BERT = fileURLToPath(new URL('../../../../packages/pipeline/fixtures/embeddings/bert-mean', import.meta.url));

function capture() {
  const sink = { out: '', error: '' };
  return { sink, output: { out: (text: string) => (sink.out += text), error: (text: string) => (sink.error += text) } };
}

describe('strata serve (CPU backend, tiny llama fixture)', () => {
  it('prints a ready line with the URL, serves several named models, and shuts down on the stop signal', async () => {
    const { sink, output } = capture();
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const exit = runServe(
      // Decode steps recorded again each time (--eager-decode, not the default replay) serve completions too.
      [
        '--model',
        `tiny=${LLAMA}`,
        '--model',
        `other=${LLAMA}`,
        '--backend',
        'cpu',
        '--port',
        '0',
        '--ctx',
        '128',
        '--eager-decode',
      ],
      output,
      stopped,
    );
    while (!sink.out.includes('serving')) await new Promise((resolve) => setTimeout(resolve, 20));
    const url = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(sink.out)![1]!;
    const models = (await (await fetch(`${url}/v1/models`)).json()) as { data: { id: string }[] };
    expect(models.data.map((model) => model.id)).toEqual(['tiny', 'other']);
    const reply = (await (
      await fetch(`${url}/v1/completions`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'other', prompt: 'hi', max_tokens: 3, temperature: 0 }),
      })
    ).json()) as { model: string; usage: { completion_tokens: number } };
    expect(reply.model).toBe('other');
    stop();
    expect(await exit).toBe(0);
    expect(sink.error).toContain('shutting down');
  });

  it('serves an embedding model alone (--embedding-model) on POST /v1/embeddings', async () => {
    const { sink, output } = capture();
    let stop!: () => void;
    const stopped = new Promise<void>((resolve) => {
      stop = resolve;
    });
    const exit = runServe(['--embedding-model', `bert=${BERT}`, '--backend', 'cpu', '--port', '0'], output, stopped);
    while (!sink.out.includes('serving')) await new Promise((resolve) => setTimeout(resolve, 20));
    const url = /on (http:\/\/127\.0\.0\.1:\d+)/.exec(sink.out)![1]!;
    const reply = (await (
      await fetch(`${url}/v1/embeddings`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'bert', input: ['one', 'two words'] }),
      })
    ).json()) as { data: { embedding: number[] }[] };
    expect(reply.data).toHaveLength(2);
    // mean pooling then L2 normalization (the folder's modules.json): unit vectors
    const norm = Math.hypot(...reply.data[0]!.embedding);
    expect(norm).toBeCloseTo(1, 5);
    stop();
    expect(await exit).toBe(0);
    expect(await runServe(['--embedding-model', 'no-equals'], output, new Promise<void>(() => {}))).toBe(2);
  });

  it('rejects bad arguments with exit code 2', async () => {
    const { sink, output } = capture();
    const never = new Promise<void>(() => {});
    expect(await runServe([], output, never)).toBe(2);
    expect(await runServe(['--model', 'no-equals-sign'], output, never)).toBe(2);
    expect(await runServe([LLAMA, '--kv-budget', 'lots'], output, never)).toBe(2);
    expect(sink.error).toContain('--kv-budget lots');
    expect(await runServe([LLAMA, '--int8-batch', '64'], output, never)).toBe(2);
    expect(sink.error).toContain('--int8-batch 64');
    expect(await runServe([LLAMA, '--int8-gemm'], output, never)).toBe(2);
    expect(sink.error).toContain('--int8-gemm changes the products of --int8-batch N');
    expect(byteSize('512MiB')).toBe(512 * 2 ** 20);
    expect(byteSize('2GiB')).toBe(2 * 2 ** 30);
    expect(byteSize('1000')).toBe(1000);
  });
});
