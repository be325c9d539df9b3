import { type Backend, type SamplingParameters, StrataError, type Tensor } from '@strata/core';
import { samplingParameters } from '@strata/backend-conformance';
import { describe, expect, it } from 'vitest';
import { createCpuBackend } from './cpu-backend.js';
import { floatToHalf } from './quant/half.js';

const backend: Backend = createCpuBackend();

function f32(values: number[], shape: number[]): Tensor {
  return backend.upload(Float32Array.from(values), shape);
}

function i32(values: number[], shape: number[]): Tensor {
  return backend.upload(Int32Array.from(values), shape);
}

async function values(tensor: Tensor): Promise<number[]> {
  return Array.from(await backend.read(tensor));
}

function f32Bytes(values: number[]): Uint8Array {
  return new Uint8Array(Float32Array.from(values).buffer);
}

async function weight(values: number[], shape: number[]) {
  return backend.uploadWeight({ name: 'w', type: 'F32', shape }, f32Bytes(values));
}

function errorCode(run: () => unknown): string | undefined {
  try {
    run();
  } catch (error) {
    return StrataError.isInstance(error) ? error.code : 'not a StrataError';
  }
  return undefined;
}

function closeTo(actual: number[], expected: number[], digits = 5): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((value, index) => {
    expect(value).toBeCloseTo(expected[index]!, digits);
  });
}

describe('cpu backend: memory', () => {
  it('uploads, reads host copies, reshapes views, slices rows and splits columns', async () => {
    const tensor = f32([1, 2, 3, 4, 5, 6], [2, 3]);
    const copy = await backend.read(tensor);
    copy[0] = 99;
    expect(await values(tensor)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(backend.reshape(tensor, [3, 2]).shape).toEqual([3, 2]);
    expect(await values(backend.sliceRows(tensor, 1, 1))).toEqual([4, 5, 6]);
    const [left, right] = backend.splitColumns(tensor, [1, 2]);
    expect(await values(left!)).toEqual([1, 4]);
    expect(await values(right!)).toEqual([2, 3, 5, 6]);
    expect(await values(backend.zeros([2, 2]))).toEqual([0, 0, 0, 0]);
    expect((await backend.read(i32([7, -1], [2]))) instanceof Int32Array).toBe(true);
  });

  it('rejects disposed tensors (a view lives until it is disposed itself), foreign tensors and bad shapes', async () => {
    const tensor = f32([1, 2], [1, 2]);
    const view = backend.reshape(tensor, [2]);
    backend.dispose(tensor);
    backend.dispose(tensor);
    expect(errorCode(() => backend.scale(tensor, 2))).toBe('TENSOR_DISPOSED');
    expect(Array.from(await backend.read(view))).toEqual([1, 2]);
    const viewOfView = backend.reshape(view, [2, 1]);
    backend.dispose(view);
    expect(errorCode(() => backend.scale(view, 2))).toBe('TENSOR_DISPOSED');
    expect(Array.from(await backend.read(viewOfView))).toEqual([1, 2]);
    backend.dispose(viewOfView);
    await expect(backend.read(viewOfView)).rejects.toSatisfy((error) =>
      StrataError.isInstance(error, 'TENSOR_DISPOSED'),
    );
    const foreign: Tensor = { backendName: 'webgpu', dtype: 'f32', shape: [1, 2] };
    expect(errorCode(() => backend.scale(foreign, 2))).toBe('BACKEND_MISMATCH');
    expect(errorCode(() => backend.upload(new Float32Array(3), [2, 2]))).toBe('SHAPE_MISMATCH');
    expect(errorCode(() => backend.add(f32([1, 2, 3, 4], [2, 2]), f32([1, 2, 3], [3])))).toBe('SHAPE_MISMATCH');
    const w = await weight([1, 2, 3, 4, 5, 6], [2, 3]);
    expect(errorCode(() => backend.matmul(f32([1, 2], [1, 2]), w))).toBe('SHAPE_MISMATCH');
    backend.dispose(w);
    expect(errorCode(() => backend.matmul(f32([1, 2, 3], [1, 3]), w))).toBe('TENSOR_DISPOSED');
    await expect(
      backend.uploadWeight({ name: 'q', type: 'Q4_0', shape: [1, 16] }, new Uint8Array(9)),
    ).rejects.toSatisfy((error) => StrataError.isInstance(error, 'INVALID_TENSOR_INFO'));
    await expect(backend.uploadWeight({ name: 'q', type: 'F32', shape: [4] }, new Uint8Array(15))).rejects.toSatisfy(
      (error) => StrataError.isInstance(error, 'TRUNCATED_FILE'),
    );
  });

  it('accepts weight bytes streamed in chunks', async () => {
    const bytes = f32Bytes([1, 2, 3, 4, 5, 6]);
    async function* chunks() {
      yield bytes.subarray(0, 5);
      yield bytes.subarray(5, 17);
      yield bytes.subarray(17);
    }
    const streamed = await backend.uploadWeight({ name: 'w', type: 'F32', shape: [2, 3] }, chunks());
    expect(await values(backend.matmul(f32([1, 0, 1], [1, 3]), streamed))).toEqual([4, 10]);
  });
});

describe('cpu backend: linear algebra', () => {
  it('multiplies by the transposed weight and adds the bias', async () => {
    const w = await weight([1, 0, 0, 1, 1, 1], [3, 2]);
    const bias = await weight([0.5, -1, 2], [3]);
    const output = backend.matmul(f32([1, 2, 3, 4], [2, 2]), w, bias);
    expect(output.shape).toEqual([2, 3]);
    expect(await values(output)).toEqual([1.5, 1, 5, 3.5, 3, 9]);
  });

  it('decodes quantized rows inside matmul and embedding (f16 vectors too)', async () => {
    // Q8_0 block: d = 0.5, quants −16…15: element j is (j − 16) / 2.
    const block = new Uint8Array(34);
    block[0] = floatToHalf(0.5) & 0xff;
    block[1] = floatToHalf(0.5) >> 8;
    for (let j = 0; j < 32; j++) block[2 + j] = (j - 16) & 0xff;
    const q = await backend.uploadWeight({ name: 'q', type: 'Q8_0', shape: [1, 32] }, block);
    const expected = Array.from({ length: 32 }, (_, j) => (j - 16) / 2);
    expect(await values(backend.embedding(q, i32([0, 0], [2]), 2))).toEqual(
      [...expected, ...expected].map((x) => x * 2),
    );
    const ones = f32(new Array(32).fill(1), [1, 32]);
    const halfBias = new Uint8Array(2);
    halfBias[0] = floatToHalf(0.25) & 0xff;
    halfBias[1] = floatToHalf(0.25) >> 8;
    const bias = await backend.uploadWeight({ name: 'b', type: 'F16', shape: [1] }, halfBias);
    expect(await values(backend.matmul(ones, q, bias))).toEqual([expected.reduce((a, b) => a + b, 0) + 0.25]);
    expect(errorCode(() => backend.embedding(q, i32([1], [1])))).toBe('TOKEN_OUT_OF_RANGE');
  });

  it('routes each slot of matmulExperts to its expert, with a shared or a per-slot input', async () => {
    // Expert e is 2×2 diagonal (e+1).
    const stack = await weight([1, 0, 0, 1, 2, 0, 0, 2, 3, 0, 0, 3], [3, 2, 2]);
    const experts = i32([2, 0, 1, 1], [2, 2]);
    const shared = backend.matmulExperts(f32([1, 2, 3, 4], [2, 2]), stack, experts);
    expect(shared.shape).toEqual([4, 2]);
    expect(await values(shared)).toEqual([3, 6, 1, 2, 6, 8, 6, 8]);
    const perSlot = backend.matmulExperts(f32([1, 1, 2, 2, 3, 3, 4, 4], [4, 2]), stack, experts);
    expect(await values(perSlot)).toEqual([3, 3, 2, 2, 6, 6, 8, 8]);
    expect(errorCode(() => backend.matmulExperts(f32([1, 2], [1, 2]), stack, i32([3], [1, 1])))).toBe(
      'INVALID_ARGUMENT',
    );
  });
});

describe('cpu backend: element-wise and normalisation', () => {
  it('adds and multiplies with row broadcasting', async () => {
    const a = f32([1, 2, 3, 4], [2, 2]);
    expect(await values(backend.add(a, f32([10, 20], [2])))).toEqual([11, 22, 13, 24]);
    expect(await values(backend.mul(a, f32([2, 3], [1, 2])))).toEqual([2, 6, 6, 12]);
    expect(await values(backend.add(a, a))).toEqual([2, 4, 6, 8]);
    expect(await values(backend.scale(a, -0.5))).toEqual([-0.5, -1, -1.5, -2]);
  });

  it('computes the activations and softcap from their definitions', async () => {
    const x = f32([-2, 1, 0], [1, 3]);
    closeTo(await values(backend.activation(x, 'silu')), [-2 / (1 + Math.exp(2)), 0.7310585786, 0], 6);
    closeTo(await values(backend.activation(x, 'gelu-erf')), [-0.0455002639, 0.8413447461, 0], 6);
    closeTo(await values(backend.activation(x, 'gelu-tanh')), [-0.0454023059, 0.8411919906, 0], 6);
    expect(await values(backend.activation(x, 'relu'))).toEqual([0, 1, 0]);
    closeTo(await values(backend.gatedActivation(x, f32([1, 2, 3], [1, 3]), 'relu')), [0, 2, 0]);
    closeTo(await values(backend.softcap(f32([30, -1], [2]), 10)), [10 * Math.tanh(3), 10 * Math.tanh(-0.1)], 5);
  });

  it('normalises rows: RMSNorm, LayerNorm and a stable softmax', async () => {
    const gain = await weight([1, 2], [2]);
    closeTo(await values(backend.rmsNorm(f32([3, 4], [1, 2]), gain, 0)), [3 / Math.sqrt(12.5), 8 / Math.sqrt(12.5)]);
    closeTo(await values(backend.rmsNorm(f32([3, 4], [1, 2]), undefined, 0)), [
      3 / Math.sqrt(12.5),
      4 / Math.sqrt(12.5),
    ]);
    const bias = await weight([1, 1, 1], [3]);
    const norm = backend.layerNorm(f32([1, 2, 3], [1, 3]), undefined, bias, 0);
    closeTo(await values(norm), [1 - Math.sqrt(1.5), 1, 1 + Math.sqrt(1.5)]);
    closeTo(await values(backend.softmax(f32([0, Math.log(2), 1000, 1000], [2, 2]))), [1 / 3, 2 / 3, 0.5, 0.5]);
  });
});

describe('cpu backend: rotary embedding and attention', () => {
  const inverseFrequencies = Float32Array.of(1, 0.5);

  it('rotates adjacent and half-split pairs, partially, scaled by the attention factor', async () => {
    const x = f32([1, 0, 0, 1], [1, 4]);
    const adjacent = backend.rope(x, 2, {
      headDimensions: 4,
      rotaryDimensions: 4,
      pairing: 'adjacent',
      inverseFrequencies,
      attentionFactor: 1,
    });
    closeTo(await values(adjacent), [Math.cos(2), Math.sin(2), -Math.sin(1), Math.cos(1)]);
    const halfSplit = backend.rope(x, 2, {
      headDimensions: 4,
      rotaryDimensions: 4,
      pairing: 'half-split',
      inverseFrequencies,
      attentionFactor: 2,
    });
    // Pairs (0, 2) at angle 2 and (1, 3) at angle 1.
    closeTo(await values(halfSplit), [2 * Math.cos(2), -2 * Math.sin(1), 2 * Math.sin(2), 2 * Math.cos(1)]);
    const partial = backend.rope(f32([1, 0, 5, 6, 1, 0, 5, 6], [2, 4]), 0, {
      headDimensions: 4,
      rotaryDimensions: 2,
      pairing: 'half-split',
      inverseFrequencies: Float32Array.of(1),
      attentionFactor: 1,
    });
    closeTo(await values(partial), [1, 0, 5, 6, Math.cos(1), Math.sin(1), 5, 6]);
  });

  it('attends causally, shares key/value heads across query groups, and applies window and softcap', async () => {
    const cache = { keys: backend.zeros([8, 2]), values: backend.zeros([8, 2]) };
    // One key/value head of 2 dims; keys at positions 0,1,2.
    backend.writeKeyValues(cache, f32([1, 0, 0, 1, 1, 1], [3, 2]), f32([1, 0, 0, 1, 2, 2], [3, 2]), 0);
    // Two query heads share the key/value head; head 1's query is zero so it averages uniformly.
    const queries = f32([1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [3, 4]);
    const options = { heads: 2, keyValueHeads: 1, headDimensions: 2, firstPosition: 0, scale: 1 };
    const output = await values(backend.attention(queries, cache, options));
    closeTo(output.slice(0, 4), [1, 0, 1, 0]);
    closeTo(output.slice(4, 8), [0.5, 0.5, 0.5, 0.5]);
    closeTo(output.slice(8, 12), [1, 1, 1, 1]);
    const windowed = await values(backend.attention(queries, cache, { ...options, window: 1 }));
    closeTo(windowed.slice(8, 12), [2, 2, 2, 2]);
    // Decode row at position 1 with a query of 4 on dim 0: scores 4 (pos 0) and 0 (pos 1); softcap 2 → 2·tanh(2).
    const decode = backend.attention(f32([4, 0, 0, 0], [1, 4]), cache, { ...options, firstPosition: 1, softcap: 2 });
    const weightFirst = 1 / (1 + Math.exp(-2 * Math.tanh(2)));
    closeTo((await values(decode)).slice(0, 2), [weightFirst, 1 - weightFirst]);
  });

  it('keeps a ring buffer cache equal to a full cache while capacity ≥ window + rows − 1', async () => {
    const window = 3;
    const ring = { keys: backend.zeros([4, 2]), values: backend.zeros([4, 2]) };
    const full = { keys: backend.zeros([16, 2]), values: backend.zeros([16, 2]) };
    const options = { heads: 1, keyValueHeads: 1, headDimensions: 2, scale: 0.7, window };
    for (let position = 0; position < 10; position += 2) {
      const keys = f32([position, 1, 1, -position / 3], [2, 2]);
      const vals = f32([position * 2, 1, -1, position], [2, 2]);
      const queries = f32([0.3, -0.2, 0.1, 0.4], [2, 2]);
      for (const cache of [ring, full]) backend.writeKeyValues(cache, keys, vals, position);
      const fromRing = await values(backend.attention(queries, ring, { ...options, firstPosition: position }));
      const fromFull = await values(backend.attention(queries, full, { ...options, firstPosition: position }));
      closeTo(fromRing, fromFull, 6);
    }
    const small = { keys: backend.zeros([3, 2]), values: backend.zeros([3, 2]) };
    backend.writeKeyValues(small, f32([1, 1, 1, 1], [2, 2]), f32([1, 1, 1, 1], [2, 2]), 2);
    const overflow = () => backend.attention(f32([1, 1, 1, 1], [2, 2]), small, { ...options, firstPosition: 2 });
    expect(errorCode(overflow)).toBe('CONTEXT_OVERFLOW');
  });
});

describe('cpu backend: routing and sampling', () => {
  it('routes to the top-k experts of the softmax, renormalised when asked', async () => {
    const logits = f32([0, Math.log(2), Math.log(3), Math.log(4)], [1, 4]);
    const plain = backend.routeExperts(logits, { topK: 2, normalize: false });
    expect(await values(plain.experts)).toEqual([3, 2]);
    closeTo(await values(plain.weights), [0.4, 0.3]);
    const normalised = backend.routeExperts(logits, { topK: 2, normalize: true });
    closeTo(await values(normalised.weights), [4 / 7, 3 / 7]);
    const combined = backend.combineExperts(f32([1, 2, 10, 20], [2, 2]), f32([0.5, 0.25], [1, 2]));
    expect(await values(combined)).toEqual([3, 6]);
  });

  it('takes the first index on ties in argmax', async () => {
    expect(await values(backend.argmax(f32([1, 3, 3, -1, -1, -2], [2, 3])))).toEqual([1, 0]);
  });

  const base: SamplingParameters = samplingParameters();
  // Last row: probabilities 0.1, 0.2, 0.3, 0.4 at temperature 1.
  const logits = f32([9, 9, 9, 9, ...[0.1, 0.2, 0.3, 0.4].map(Math.log)], [2, 4]);
  const sample = async (parameters: Partial<SamplingParameters>) =>
    (await values(backend.sampleToken(logits, { ...base, ...parameters })))[0];

  it('draws by cumulative probability in rank order from the last row', async () => {
    expect(await sample({ random: 0 })).toBe(3);
    expect(await sample({ random: 0.39 })).toBe(3);
    expect(await sample({ random: 0.41 })).toBe(2);
    expect(await sample({ random: 0.71 })).toBe(1);
    expect(await sample({ random: 0.95 })).toBe(0);
  });

  it('applies greedy, top-k, top-p, min-p, penalties and bans', async () => {
    expect(await sample({ temperature: 0, random: 0.95 })).toBe(3);
    expect(await sample({ topK: 1, random: 0.95 })).toBe(3);
    expect(await sample({ topK: 2, random: 0.95 })).toBe(2);
    expect(await sample({ topP: 0.65, random: 0.95 })).toBe(2);
    expect(await sample({ topP: 0.75, random: 0.95 })).toBe(1);
    expect(await sample({ minP: 0.6, random: 0.95 })).toBe(2);
    const ban = { logitBiasTokens: Int32Array.of(3), logitBiasValues: Float32Array.of(Number.NEGATIVE_INFINITY) };
    expect(await sample({ ...ban, temperature: 0 })).toBe(2);
    expect(await sample({ ...ban, random: 0.99 })).toBe(0);
    // Frequency penalty 1 × count 2 on the best token drops it below token 2.
    const penalty = { penaltyTokens: Int32Array.of(3), penaltyCounts: Int32Array.of(2), frequencyPenalty: 1 };
    expect(await sample({ ...penalty, temperature: 0 })).toBe(2);
    // Repetition penalty multiplies the negative logit log(0.4) by 4: token 2 wins.
    expect(
      await sample({
        penaltyTokens: Int32Array.of(3),
        penaltyCounts: Int32Array.of(1),
        repetitionPenalty: 4,
        temperature: 0,
      }),
    ).toBe(2);
    expect(errorCode(() => backend.sampleToken(logits, { ...base, random: 1 }))).toBe('INVALID_SAMPLING_OPTIONS');
  });

  it("captureStep runs the body for every run, at that run's position, with the run's ids", async () => {
    const seen: number[] = [];
    const plan = backend.captureStep(2, (ids, firstPosition) => {
      seen.push(firstPosition);
      return ids;
    });
    expect(Array.from(await backend.read(plan.run(Int32Array.of(4, 5), 7)))).toEqual([4, 5]);
    expect(Array.from(await backend.read(plan.run(Int32Array.of(6, 1), 9)))).toEqual([6, 1]);
    expect(seen).toEqual([7, 9]);
    expect(errorCode(() => plan.run(Int32Array.of(1), 0))).toBe('SHAPE_MISMATCH');
    // The CPU computes at once: neither the backend nor its plans defer work.
    expect(plan.deferred).toBe(false);
    expect(backend.defersWork).toBe(false);
    plan.dispose();
    expect(errorCode(() => plan.run(Int32Array.of(1, 2), 0))).toBe('TENSOR_DISPOSED');
  });
});
