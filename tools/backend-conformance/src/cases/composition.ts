import type { Backend, KeyValueCache, RopeParameters, SamplingParameters, Tensor, WeightTensor } from '@strata/core';
import { expect, it } from 'vitest';
import { type ConformanceContext, compareWithReference, randomFor, uploadWeight, weightBytesFor } from '../harness.js';
import { samplingParameters } from '../sampling.js';

/** A tiny transformer step's weights: hidden 64, 4 query heads and 2 key/value heads of 16, FFN 96, vocabulary 40. */
const [HIDDEN, HEADS, KEY_VALUE_HEADS, HEAD, FFN, VOCABULARY] = [64, 4, 2, 16, 96, 40];

interface StepWeights {
  readonly embedding: WeightTensor;
  readonly norm: WeightTensor;
  readonly query: WeightTensor;
  readonly key: WeightTensor;
  readonly value: WeightTensor;
  readonly output: WeightTensor;
  readonly gate: WeightTensor;
  readonly up: WeightTensor;
  readonly down: WeightTensor;
  readonly head: WeightTensor;
}

async function uploadStepWeights(backend: Backend): Promise<StepWeights> {
  const matrix = (name: string, type: 'F16' | 'Q8_0' | 'Q4_0', rows: number, columns: number) =>
    uploadWeight(backend, type, [rows, columns], weightBytesFor(`composition:${name}`, type, rows, columns), name);
  const gains = new Uint8Array(randomFor('composition:norm').floats(HIDDEN, 0.8, 1.2).buffer);
  return {
    embedding: await matrix('embedding', 'Q8_0', VOCABULARY, HIDDEN),
    norm: await uploadWeight(backend, 'F32', [HIDDEN], gains, 'norm'),
    query: await matrix('query', 'Q4_0', HEADS * HEAD, HIDDEN),
    key: await matrix('key', 'Q8_0', KEY_VALUE_HEADS * HEAD, HIDDEN),
    value: await matrix('value', 'F16', KEY_VALUE_HEADS * HEAD, HIDDEN),
    output: await matrix('output', 'Q4_0', HIDDEN, HEADS * HEAD),
    gate: await matrix('gate', 'Q8_0', FFN, HIDDEN),
    up: await matrix('up', 'Q4_0', FFN, HIDDEN),
    down: await matrix('down', 'Q8_0', HIDDEN, FFN),
    head: await matrix('head', 'F16', VOCABULARY, HIDDEN),
  };
}

const GREEDY: SamplingParameters = samplingParameters({ temperature: 0 });

const ROPE: RopeParameters = {
  headDimensions: HEAD,
  rotaryDimensions: HEAD,
  pairing: 'half-split',
  inverseFrequencies: Float32Array.from({ length: HEAD / 2 }, (_, index) => 10000 ** ((-2 * index) / HEAD)),
  attentionFactor: 1,
};

/**
 * One pre-norm transformer step (with QK-norm through a reshape) that disposes every intermediate right after its last
 * use, before anything is read: a recording backend must keep the results as if each op ran when called.
 */
function step(
  backend: Backend,
  weights: StepWeights,
  cache: KeyValueCache,
  tokens: Int32Array | Tensor,
  position: number,
): Tensor {
  const ids = tokens instanceof Int32Array ? backend.upload(tokens, [tokens.length]) : tokens;
  const rows = ids.shape[0]!;
  const hidden = backend.embedding(weights.embedding, ids, 0.5);
  backend.dispose(ids);
  const normed = backend.rmsNorm(hidden, weights.norm, 1e-5);
  const rawQueries = backend.matmul(normed, weights.query);
  const headRows = backend.reshape(rawQueries, [rows * HEADS, HEAD]);
  const queryNormed = backend.rmsNorm(headRows, undefined, 1e-6);
  backend.dispose(rawQueries);
  const queries = backend.rope(backend.reshape(queryNormed, [rows, HEADS * HEAD]), position, ROPE);
  backend.dispose(queryNormed);
  const keys = backend.rope(backend.matmul(normed, weights.key), position, ROPE);
  const values = backend.matmul(normed, weights.value);
  backend.dispose(normed);
  backend.writeKeyValues(cache, keys, values, position);
  backend.dispose(keys);
  backend.dispose(values);
  const attended = backend.attention(queries, cache, {
    heads: HEADS,
    keyValueHeads: KEY_VALUE_HEADS,
    headDimensions: HEAD,
    firstPosition: position,
    scale: 1 / Math.sqrt(HEAD),
  });
  backend.dispose(queries);
  const projected = backend.matmul(attended, weights.output);
  backend.dispose(attended);
  const residual = backend.add(hidden, projected);
  backend.dispose(hidden);
  backend.dispose(projected);
  const ffnInput = backend.rmsNorm(residual, weights.norm, 1e-5);
  const [gate, up] = [backend.matmul(ffnInput, weights.gate), backend.matmul(ffnInput, weights.up)];
  backend.dispose(ffnInput);
  const activated = backend.gatedActivation(gate, up, 'silu');
  backend.dispose(gate);
  backend.dispose(up);
  const down = backend.matmul(activated, weights.down);
  backend.dispose(activated);
  const output = backend.add(residual, down);
  backend.dispose(residual);
  backend.dispose(down);
  const logits = backend.matmul(output, weights.head);
  backend.dispose(output);
  return logits;
}

/** Ops chained without reads, intermediates disposed early: what a model step does on a recording backend. */
export function registerCompositionCases(context: ConformanceContext): void {
  it('a transformer step chained and disposed eagerly: prefill, a read, two decodes, one fed by sampleToken on device', async () => {
    const prompt = Int32Array.of(3, 17, 5, 29, 11, 0, 38);
    const outputs = await compareWithReference(context, 'composition', 'prefill and decode', async (backend) => {
      const weights = await uploadStepWeights(backend);
      const width = KEY_VALUE_HEADS * HEAD;
      const cache = { keys: backend.zeros([16, width]), values: backend.zeros([16, width]) };
      const prefill = step(backend, weights, cache, prompt, 0);
      const outputs: Tensor[] = [prefill];
      // A read in the middle of the sequence (a synchronisation point).
      await backend.read(backend.argmax(backend.sliceRows(prefill, prompt.length - 1, 1)));
      const decoded = step(backend, weights, cache, Int32Array.of(21), prompt.length);
      outputs.push(decoded);
      // The next token stays on the device: greedy sampleToken's i32 [1] feeds the embedding directly.
      const next = backend.sampleToken(decoded, GREEDY);
      outputs.push(step(backend, weights, cache, next, prompt.length + 1));
      return [...outputs, cache.keys];
    });
    // Guard against flakiness: the greedy token fed back must win by a clear margin on the reference.
    const logits = Array.from(outputs[1]!).sort((a, b) => b - a);
    expect(logits[0]! - logits[1]!, 'margin of the greedy token').toBeGreaterThan(0.01);
  });
}
