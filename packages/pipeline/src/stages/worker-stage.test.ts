import { MessageChannel, Worker } from 'node:worker_threads';
import { createCpuBackend } from '@strata/kernels-cpu';
import { describe, expect, it } from 'vitest';
import { createByteTokenizer, createToyModel } from '../testing/toy-model.js';
import { TextPipeline } from '../text-pipeline.js';
import { messagePortTransport } from './message-port-transport.js';
import { createStagedExecutor } from './staged-executor.js';

describe('a stage in a worker thread', () => {
  it('the tail in a worker_threads Worker gives the tokens of the whole model', async () => {
    const runtime = { contextLength: 40, chunkSize: 4 };
    // The worker runs TypeScript sources: register tsx's loader in it, then import the entry.
    const entry = new URL('../testing/stage-worker.ts', import.meta.url).href;
    const code = `import('tsx/esm/api').then((tsx) => { tsx.register(); return import(${JSON.stringify(entry)}); });`;
    const channel = new MessageChannel();
    const worker = new Worker(code, {
      eval: true,
      workerData: { start: 2, ...runtime, port: channel.port2 },
      transferList: [channel.port2],
    });
    const failed = new Promise<never>((_, reject) => worker.once('error', reject));
    try {
      const backend = createCpuBackend();
      const tokenizer = createByteTokenizer();
      const head = await createToyModel(backend, undefined, { start: 0, end: 2 });
      const executor = await Promise.race([
        createStagedExecutor({ model: head, backend, next: messagePortTransport(channel.port1), ...runtime }),
        failed,
      ]);
      const staged = TextPipeline.fromExecutor({ executor, tokenizer });
      const whole = TextPipeline.fromParts({ model: await createToyModel(backend), backend, tokenizer, ...runtime });
      const options = { maxTokens: 8, ignoreEndOfGeneration: true };
      const expected = await whole.generate('worker', options).result;
      const actual = await staged.generate('worker', options).result;
      expect(actual.tokens).toEqual(expected.tokens);
      await staged.dispose();
    } finally {
      channel.port1.close();
      await worker.terminate();
    }
  });
});
