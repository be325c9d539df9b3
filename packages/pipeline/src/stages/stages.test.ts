import { createCpuBackend } from '@strata/kernels-cpu';
import type { CompleteModel, LayerRange } from '@strata/models';
import { afterAll, describe, expect, it } from 'vitest';
import { createByteTokenizer, createToyModel } from '../testing/toy-model.js';
import { TextPipeline } from '../text-pipeline.js';
import { messagePortTransport, serveStageOnPort } from './message-port-transport.js';
import { StageServer } from './stage-server.js';
import { createStagedExecutor } from './staged-executor.js';
import { inProcessTransport, type Transport } from './transport.js';

const backend = createCpuBackend();
const tokenizer = createByteTokenizer();
const runtime = { contextLength: 40, chunkSize: 4 };
const PROMPT = [256, 84, 104, 101, 32, 113, 117, 105, 99, 107, 32];
const opened: MessagePort[] = [];

type Connect = (server: StageServer) => Transport;
const connectInProcess: Connect = (server) => inProcessTransport(server);
const connectByPort: Connect = (server) => {
  const channel = new MessageChannel();
  opened.push(channel.port1, channel.port2);
  serveStageOnPort(server, channel.port2);
  return messagePortTransport(channel.port1);
};

/** A pipeline whose layers are split at `cuts` (e.g. [1] → [0,1) + [1,3)), the stages joined by `connect`. */
async function stagedPipeline(cuts: number[], connect: Connect): Promise<TextPipeline> {
  const bounds = [0, ...cuts, 3];
  const ranges: LayerRange[] = bounds.slice(1).map((end, index) => ({ start: bounds[index]!, end }));
  const parts = await Promise.all(ranges.map((range) => createToyModel(backend, undefined, range)));
  let next: Transport | undefined;
  for (let index = parts.length - 1; index >= 1; index--) {
    const model = parts[index]!;
    const server: StageServer =
      next === undefined
        ? new StageServer({ kind: 'tail', model, backend, ...runtime })
        : new StageServer({ kind: 'middle', model, backend, next, ...runtime });
    next = connect(server);
  }
  const executor = await createStagedExecutor({ model: parts[0]!, backend, next: next!, ...runtime });
  return TextPipeline.fromExecutor({ executor, tokenizer });
}

async function run(pipeline: TextPipeline, prompt: number[], options = {}) {
  const logits: Float32Array[] = [];
  const generation = pipeline.generate(prompt, {
    maxTokens: 8,
    ignoreEndOfGeneration: true,
    returnLogits: true,
    ...options,
  });
  for await (const delta of generation) if (delta.logits !== undefined) logits.push(delta.logits);
  return { tokens: (await generation.result).tokens, logits };
}

describe('pipeline stages', () => {
  it.each([
    ['2 stages in process', [1], connectInProcess],
    ['3 stages in process', [1, 2], connectInProcess],
    ['2 stages over MessagePorts', [2], connectByPort],
    ['3 stages over MessagePorts', [1, 2], connectByPort],
  ] as const)('%s give the logits and greedy tokens of the whole model', async (_, cuts, connect) => {
    const whole: CompleteModel = await createToyModel(backend);
    const reference = TextPipeline.fromParts({ model: whole, backend, tokenizer, ...runtime });
    const staged = await stagedPipeline([...cuts], connect);
    const expected = await run(reference, PROMPT);
    const actual = await run(staged, PROMPT);
    expect(actual.tokens).toEqual(expected.tokens);
    expect(actual.logits).toHaveLength(expected.logits.length);
    for (const [step, row] of actual.logits.entries()) {
      const want = expected.logits[step]!;
      let worst = 0;
      for (let index = 0; index < row.length; index++) worst = Math.max(worst, Math.abs(row[index]! - want[index]!));
      expect(worst).toBeLessThan(1e-5);
    }
    // A second turn reuses the cached prefix in every stage and still agrees; sampling agrees with the same seed.
    const next = [...PROMPT, ...expected.tokens.slice(0, 5), 33];
    expect((await run(staged, next)).tokens).toEqual((await run(reference, next)).tokens);
    const sampled = { temperature: 1, seed: 9 };
    expect((await run(staged, PROMPT, sampled)).tokens).toEqual((await run(reference, PROMPT, sampled)).tokens);
    await staged.dispose();
    await reference.dispose();
  });

  it('a stage error comes back as a StrataError with its code', async () => {
    const tail = new StageServer({
      kind: 'tail',
      model: await createToyModel(backend, undefined, { start: 1, end: 3 }),
      backend,
      ...runtime,
    });
    const reply = await tail.handle({ type: 'forward', firstPosition: 0, rows: 2, hidden: new Float32Array(5) });
    expect(reply).toMatchObject({ type: 'error', code: 'SHAPE_MISMATCH' });
  });
});

afterAll(() => {
  for (const port of opened) port.close();
});
