import { readFileSync } from 'node:fs';
import { createCpuBackend } from '@strata/kernels-cpu';
import { tokenizerFromModel } from '@strata/loaders';
import { openModelFiles } from '@strata/loaders/node';
import { type LayerRange, loadModel, type TransformerPart } from '@strata/models';
import { describe, expect, it } from 'vitest';
import { TextPipeline } from '../text-pipeline.js';
import { messagePortTransport, serveStageOnPort } from './message-port-transport.js';
import { StageServer } from './stage-server.js';
import { createStagedExecutor } from './staged-executor.js';
import { inProcessTransport, type Transport } from './transport.js';

// A real fixture model (llama, 2 layers) split into stages by the models package's layer ranges gives the logits and
// greedy tokens of the whole model, and those match transformers.
const FIXTURES = new URL('../../../../../shared/fixtures/models/', import.meta.url).pathname;
const backend = createCpuBackend();
const runtime = { contextLength: 48, chunkSize: 5 };

async function staged(path: string, ranges: LayerRange[], overPorts: boolean): Promise<TextPipeline> {
  const files = await openModelFiles(path);
  const parts: TransformerPart[] = [];
  for (const layerRange of ranges) parts.push(await loadModel(files, backend, { layerRange }));
  let next: Transport | undefined;
  for (let index = parts.length - 1; index >= 1; index--) {
    const part = parts[index]!;
    let server: StageServer;
    if (part.part === 'last') server = new StageServer({ kind: 'tail', model: part, backend, ...runtime });
    else if (part.part === 'middle' && next !== undefined)
      server = new StageServer({ kind: 'middle', model: part, backend, next, ...runtime });
    else throw new Error(`unexpected part ${part.part}`);
    if (overPorts) {
      const channel = new MessageChannel();
      serveStageOnPort(server, channel.port2);
      next = messagePortTransport(channel.port1);
    } else next = inProcessTransport(server);
  }
  const head = parts[0]!;
  if (head.part !== 'first') throw new Error('the first range must start at layer 0');
  const executor = await createStagedExecutor({ model: head, backend, next: next!, ...runtime });
  return TextPipeline.fromExecutor({ executor, tokenizer: tokenizerFromModel(files) });
}

describe('stages of a real model', () => {
  it.each([
    ['safetensors, 2 stages in process', 'llama', false],
    ['f32 GGUF, 2 stages over MessagePorts', 'llama/model-f32.gguf', true],
  ] as const)('%s: same logits and greedy tokens as the whole model and transformers', async (_, path, overPorts) => {
    const expected = JSON.parse(readFileSync(`${FIXTURES}llama/expected.json`, 'utf8')) as {
      input_ids: number[];
      greedy_new_tokens: number[];
    };
    const whole = await TextPipeline.load(`${FIXTURES}${path}`, { backend, ...runtime });
    const split = await staged(
      `${FIXTURES}${path}`,
      [
        { start: 0, end: 1 },
        { start: 1, end: 2 },
      ],
      overPorts,
    );
    const run = async (pipeline: TextPipeline) => {
      const generation = pipeline.generate(expected.input_ids, {
        maxTokens: 12,
        ignoreEndOfGeneration: true,
        returnLogits: true,
      });
      const logits: Float32Array[] = [];
      for await (const delta of generation) if (delta.logits !== undefined) logits.push(delta.logits);
      return { tokens: (await generation.result).tokens, logits };
    };
    const reference = await run(whole);
    const actual = await run(split);
    expect(actual.tokens).toEqual(expected.greedy_new_tokens);
    expect(actual.tokens).toEqual(reference.tokens);
    let worst = 0;
    for (const [step, row] of actual.logits.entries()) {
      for (let index = 0; index < row.length; index++)
        worst = Math.max(worst, Math.abs(row[index]! - reference.logits[step]![index]!));
    }
    expect(worst).toBeLessThan(1e-5);
    await split.dispose();
    await whole.dispose();
  });
});
