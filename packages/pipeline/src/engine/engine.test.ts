import { createCpuBackend } from '@strata/kernels-cpu';
import { describe, expect, it } from 'vitest';
import { createByteTokenizer, createToyModel, TOY_CONFIG } from '../testing/toy-model.js';
import { TextPipeline } from '../text-pipeline.js';
import { Engine } from './engine.js';

const backend = createCpuBackend();
const tokenizer = createByteTokenizer();

describe('Engine', () => {
  it('dispatches concurrent requests to several pipelines without mixing outputs', async () => {
    const a = TextPipeline.fromParts({ model: await createToyModel(backend), backend, tokenizer, contextLength: 32 });
    const other = await createToyModel(backend, { ...TOY_CONFIG, seed: 99 });
    const b = TextPipeline.fromParts({ model: other, backend, tokenizer, contextLength: 32 });
    const engine = new Engine().add('a', a).add('b', b);
    const prompts = ['one', 'two', 'three', 'four'];
    const options = { maxTokens: 5, ignoreEndOfGeneration: true };
    const requests = prompts.flatMap((prompt) => [
      engine.submit({ model: 'a', prompt, ...options }),
      engine.submit({ model: 'b', prompt, ...options }),
    ]);
    const results = await Promise.all(requests.map((request) => request.result));
    // Alone, one request at a time, each pipeline gives the same tokens.
    for (const [index, prompt] of prompts.entries()) {
      const aloneA = await TextPipeline.fromParts({
        model: await createToyModel(backend),
        backend,
        tokenizer,
        contextLength: 32,
      }).generate(prompt, options).result;
      const aloneB = await TextPipeline.fromParts({ model: other, backend, tokenizer, contextLength: 32 }).generate(
        prompt,
        options,
      ).result;
      expect(results[2 * index]!.tokens).toEqual(aloneA.tokens);
      expect(results[2 * index + 1]!.tokens).toEqual(aloneB.tokens);
    }
    expect(results[0]!.tokens).not.toEqual(results[1]!.tokens);
    expect(() => engine.submit({ model: 'c', prompt: 'x' })).toThrow(/No model named 'c'.*a, b/);
    expect(() => engine.add('a', a)).toThrow(/already hosts/);
    await engine.remove('b');
    expect(engine.list().map((model) => model.name)).toEqual(['a']);
    await engine.dispose();
  });

  it('loads models by path and serves chat requests', async () => {
    const engine = new Engine();
    const fixtures = new URL('../../../../../shared/fixtures/models/', import.meta.url).pathname;
    await engine.load('llama', `${fixtures}llama`, { backend, contextLength: 64 });
    await engine.load('qwen2', `${fixtures}qwen2/model-f32.gguf`, { backend, contextLength: 64 });
    const messages = [{ role: 'user', content: 'hi there' }];
    const [llama, qwen] = await Promise.all([
      engine.submit({ model: 'llama', messages, maxTokens: 3, ignoreEndOfGeneration: true }).result,
      engine.submit({ model: 'qwen2', messages, maxTokens: 3, ignoreEndOfGeneration: true }).result,
    ]);
    expect(llama.tokens).toHaveLength(3);
    expect(qwen.tokens).toHaveLength(3);
    expect(engine.list().map((model) => [model.name, model.contextLength])).toEqual([
      ['llama', 64],
      ['qwen2', 64],
    ]);
    await expect(engine.load('llama', `${fixtures}llama`, { backend })).rejects.toThrow(/already hosts/);
    await engine.dispose();
  });
});
