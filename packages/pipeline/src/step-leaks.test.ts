import { createScopedBackend } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { describe, expect, it } from 'vitest';
import type { CompleteModel } from '@strata/models';
import { loadTextPipeline } from './load/load-text-pipeline.js';
import { StageServer } from './stages/stage-server.js';
import { createStagedExecutor } from './stages/staged-executor.js';
import { inProcessTransport } from './stages/transport.js';
import { createByteTokenizer, createToyModel } from './testing/toy-model.js';
import { TextPipeline } from './text-pipeline.js';

// No leaks across steps: the tensors alive after 100 decode steps are those alive after the first (the weights aside,
// only the KV caches). Counted through a scoped backend, which sees every tensor an op returns and every dispose.
const FIXTURES = new URL('../../../../shared/fixtures/models/', import.meta.url).pathname;
const FAMILIES = [
  'llama',
  'llama-tied',
  'mistral-swa',
  'mixtral',
  'qwen2',
  'qwen3',
  'qwen3moe',
  'phi2',
  'phi3',
  'starcoder2',
  'gemma',
  'gemma2',
  'gemma3',
] as const;

describe('no tensors leak across decode steps (CPU backend)', () => {
  const CASES = FAMILIES.flatMap((family) => [
    [family, 'eager decode', false],
    [family, 'captured decode', true],
  ]) as [string, string, boolean][];
  it.for(CASES)(
    '%s, %s: live tensors after 100 decode steps equal those after the first',
    async ([family, , captured]) => {
      const backend = createScopedBackend(createCpuBackend());
      const liveAfterDecodeStep: number[] = [];
      const pipeline = await loadTextPipeline(`${FIXTURES}${family}`, {
        backend,
        contextLength: 128,
        chunkSize: 8,
        capturedDecode: captured,
        hooks: {
          afterStep: ({ request }) => {
            if (request.ids.length === 1) liveAfterDecodeStep.push(backend.liveTensors);
          },
        },
      });
      const idle = backend.liveTensors; // the KV caches, allocated at load
      const result = await pipeline.generate('Once upon a time', { maxTokens: 102, ignoreEndOfGeneration: true })
        .result;
      expect(result.tokens).toHaveLength(102);
      expect(liveAfterDecodeStep).toHaveLength(101);
      expect(liveAfterDecodeStep[100]).toBe(liveAfterDecodeStep[0]);
      // Nothing but the caches is alive between steps.
      expect(liveAfterDecodeStep[0]).toBe(idle);
      expect(idle).toBeGreaterThan(0);
      await pipeline.dispose();
      expect(backend.liveTensors).toBe(0);
    },
  );

  it('the step scope frees what a model forgets to dispose', async () => {
    const backend = createScopedBackend(createCpuBackend());
    const toy = await createToyModel(backend);
    const leaky: CompleteModel = {
      ...toy,
      transform(hidden, context) {
        context.backend.add(hidden, hidden); // never disposed by the model
        return toy.transform(hidden, context);
      },
    };
    const tokenizer = createByteTokenizer();
    const pipeline = TextPipeline.fromParts({ model: leaky, backend, tokenizer, contextLength: 64 });
    const idle = backend.liveTensors;
    const result = await pipeline.generate('abc', { maxTokens: 20, ignoreEndOfGeneration: true }).result;
    expect(result.tokens).toHaveLength(20);
    expect(backend.liveTensors).toBe(idle);
  });

  it('so do the steps of pipeline stages (head, middle and tail)', async () => {
    const backend = createScopedBackend(createCpuBackend());
    const leaky = <T extends { transform: CompleteModel['transform'] }>(model: T): T => ({
      ...model,
      transform: (hidden, context) => {
        context.backend.add(hidden, hidden); // never disposed by the model
        return model.transform(hidden, context);
      },
    });
    const runtime = { contextLength: 40, chunkSize: 4 };
    const [head, middle, tail] = await Promise.all(
      [0, 1, 2].map((start) => createToyModel(backend, undefined, { start, end: start + 1 })),
    );
    const tailServer = new StageServer({ kind: 'tail', model: leaky(tail!), backend, ...runtime });
    const middleServer = new StageServer({
      kind: 'middle',
      model: leaky(middle!),
      backend,
      next: inProcessTransport(tailServer),
      ...runtime,
    });
    const executor = await createStagedExecutor({
      model: leaky(head!),
      backend,
      next: inProcessTransport(middleServer),
      ...runtime,
    });
    const pipeline = TextPipeline.fromExecutor({ executor, tokenizer: createByteTokenizer() });
    const idle = backend.liveTensors;
    const result = await pipeline.generate('abc', { maxTokens: 10, ignoreEndOfGeneration: true }).result;
    expect(result.tokens).toHaveLength(10);
    expect(backend.liveTensors).toBe(idle);
  });
});
