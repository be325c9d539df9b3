import { type Backend, type KeyValueCache, type RopeParameters, StrataError, type Tensor } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { useBackendForTests } from '../testing/backend-for-tests.js';
import { testValues } from '../testing/test-values.js';

const backend = useBackendForTests();

const HEADS = 4;
const KEY_VALUE_HEADS = 2;
const VOCABULARY = 16;

/** The cache and head size of a test step: f32 with separate RoPE and write, or q8_0 with the fused op. */
interface StepCache {
  readonly precision: 'f32' | 'q8_0';
  readonly head: number;
}

function ropeParameters(head: number): RopeParameters {
  return {
    headDimensions: head,
    rotaryDimensions: head,
    pairing: 'half-split',
    inverseFrequencies: Float32Array.from({ length: head / 2 }, (_, index) => 10000 ** ((-2 * index) / head)),
    attentionFactor: 1,
  };
}

/**
 * A small decode step of the position-dependent ops: an embedding row per id, RoPE, a ring cache of `capacity` rows
 * with a sliding window, attention. An f32 cache is written by `rope` and `writeKeyValues`, a q8_0 cache by the fused
 * `ropeAndWriteKeyValues`. Returns the step body.
 */
async function attentionStep(on: Backend, capacity: number, window: number, shape: StepCache = F32_STEP) {
  const { head, precision } = shape;
  const width = HEADS * head;
  const rope = ropeParameters(head);
  const cache: KeyValueCache =
    precision === 'q8_0'
      ? on.createKeyValueCache(capacity, KEY_VALUE_HEADS * head, 'q8_0')
      : { keys: on.zeros([capacity, KEY_VALUE_HEADS * head]), values: on.zeros([capacity, KEY_VALUE_HEADS * head]) };
  const table = await on.uploadWeight(
    { name: 'table', type: 'F32', shape: [VOCABULARY, 2 * width] },
    new Uint8Array(testValues(VOCABULARY * 2 * width, 1).buffer),
  );
  return (ids: Tensor, firstPosition: number): Tensor => {
    const row = on.embedding(table, ids);
    const [query, key, value] = on.splitColumns(row, [width, KEY_VALUE_HEADS * head, KEY_VALUE_HEADS * head]) as [
      Tensor,
      Tensor,
      Tensor,
    ];
    let rotatedQuery: Tensor;
    if (precision === 'q8_0') rotatedQuery = on.ropeAndWriteKeyValues(query, key, value, cache, firstPosition, rope);
    else {
      on.writeKeyValues(cache, on.rope(key, firstPosition, rope), value, firstPosition);
      rotatedQuery = on.rope(query, firstPosition, rope);
    }
    return on.attention(rotatedQuery, cache, {
      heads: HEADS,
      keyValueHeads: KEY_VALUE_HEADS,
      headDimensions: head,
      firstPosition,
      scale: 1 / Math.sqrt(head),
      window,
    });
  };
}

const F32_STEP: StepCache = { precision: 'f32', head: 8 };
const Q8_STEP: StepCache = { precision: 'q8_0', head: 32 };

describe('captured step plans', () => {
  it.for([F32_STEP, Q8_STEP])(
    'replay the eager step at every position, across the ring buffer and the window ($precision cache)',
    async (shape, context) => {
      const gpu = backend(context);
      const capacity = 6;
      const window = 4;
      const outputs: Float32Array[][] = [];
      for (const captured of [true, false]) {
        const body = await attentionStep(gpu, capacity, window, shape);
        const plan = captured ? gpu.captureStep(1, body) : undefined;
        const rows: Float32Array[] = [];
        for (let position = 0; position < 15; position++) {
          const ids = Int32Array.of((3 + position * 7) % VOCABULARY);
          let output: Tensor;
          if (plan !== undefined) output = plan.run(ids, position);
          else {
            const input = gpu.upload(ids, [1]);
            output = body(input, position);
          }
          rows.push((await gpu.read(output)) as Float32Array);
          gpu.dispose(output);
        }
        plan?.dispose();
        outputs.push(rows);
      }
      const [captured, eager] = outputs as [Float32Array[], Float32Array[]];
      captured.forEach((row, step) => {
        expect(row.length).toBe(HEADS * shape.head);
        row.forEach((value, index) => {
          expect(value).toBeCloseTo(eager[step]![index]!, 5);
        });
      });
    },
  );

  it('allocate nothing per run: live activation bytes stay where the first run left them', async (context) => {
    const gpu = backend(context);
    const body = await attentionStep(gpu, 8, 8);
    const plan = gpu.captureStep(1, body);
    gpu.dispose(plan.run(Int32Array.of(1), 0));
    await gpu.flush();
    const afterFirst = gpu.memory().activeBytes;
    for (let position = 1; position < 20; position++)
      gpu.dispose(plan.run(Int32Array.of(position % VOCABULARY), position));
    await gpu.flush();
    expect(gpu.memory().activeBytes).toBe(afterFirst);
    // Runs record work the GPU executes later, as the backend says of all its ops.
    expect(plan.deferred).toBe(true);
    expect(gpu.defersWork).toBe(true);
    plan.dispose();
  });

  it('refuse host reads and uploads inside the body, wrong id counts and runs after dispose', async (context) => {
    const gpu = backend(context);
    const reads = gpu.captureStep(1, (ids) => {
      gpu.read(ids).catch(() => undefined);
      return ids;
    });
    expect(() => reads.run(Int32Array.of(1), 0)).toThrowError(
      expect.objectContaining({ code: 'STEP_CAPTURE' }) as unknown as Error,
    );
    const uploads = gpu.captureStep(1, () => gpu.upload(Float32Array.of(1), [1]));
    try {
      uploads.run(Int32Array.of(1), 0);
      expect.unreachable();
    } catch (error) {
      expect(StrataError.isInstance(error, 'STEP_CAPTURE')).toBe(true);
      expect((error as Error).message).toContain('upload host data');
    }
    const plan = gpu.captureStep(2, (ids) => gpu.reshape(ids, [1, 2]));
    expect(() => plan.run(Int32Array.of(1), 0)).toThrowError(/2 token ids/);
    plan.dispose();
    expect(() => plan.run(Int32Array.of(1, 2), 0)).toThrowError(/disposed/);
    // The backend still records eagerly after a failed capture.
    const sum = gpu.add(gpu.upload(Float32Array.of(1, 2), [2]), gpu.upload(Float32Array.of(3, 4), [2]));
    expect(Array.from(await gpu.read(sum))).toEqual([4, 6]);
  });
});
