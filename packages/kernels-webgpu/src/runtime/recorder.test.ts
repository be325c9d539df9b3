import { StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { useBackendForTests } from '../testing/backend-for-tests.js';
import { sizeClass } from './buffer-pool.js';
import { DispatchTimer } from './dispatch-timer.js';
import { Uniforms } from './shader.js';

const backend = useBackendForTests();

describe('size classes', () => {
  it('round up by at most a quarter of the octave, from 256 bytes', () => {
    expect(sizeClass(1)).toBe(256);
    expect(sizeClass(257)).toBe(320);
    expect(sizeClass(1000)).toBe(1024);
    expect(sizeClass(1025)).toBe(1280);
    for (const bytes of [300, 4097, 123_457, 10_000_001]) {
      expect(sizeClass(bytes)).toBeGreaterThanOrEqual(bytes);
      expect(sizeClass(bytes)).toBeLessThanOrEqual(bytes * 1.25 + 256);
    }
  });
});

describe('Recorder', () => {
  it('times each dispatch in a pass of its own while a timer is set, with the same results', async (context) => {
    const b = backend(context);
    if (!b.features.timestampQuery) return context.skip('the adapter has no timestamp-query');
    const recorder = b.runtime.recorder;
    const timer = new DispatchTimer(b.device, 3);
    const input = b.upload(new Float32Array([1, -3]), [2]);
    recorder.timer = timer;
    let tensor = b.scale(input, 2);
    // Four dispatches for a timer of three: the last runs untimed.
    for (let index = 0; index < 3; index++) {
      const next = b.scale(tensor, index % 2 === 0 ? 0.5 : 3);
      b.dispose(tensor);
      tensor = next;
    }
    recorder.timer = undefined;
    expect(Array.from(await b.read(tensor))).toEqual([1.5, -4.5]);
    const timings = await timer.read();
    expect(timings.map((timing) => timing.key)).toHaveLength(3);
    expect(new Set(timings.map((timing) => timing.key)).size).toBe(1);
    for (const timing of timings) expect(timing.nanoseconds).toBeGreaterThanOrEqual(0);
    b.dispose(input);
    b.dispose(tensor);
    expect(() => new DispatchTimer(b.device, 4096)).toThrowError(/1 to 2048 dispatches/);
  });

  it('records a whole step into one submission and gives each dispatch its own uniforms', async (context) => {
    const b = backend(context);
    const recorder = b.runtime.recorder;
    const submitEvery = recorder.submitEvery;
    recorder.submitEvery = Number.POSITIVE_INFINITY;
    const batch = recorder.batch;
    let tensor = b.upload(new Float32Array([1, -3]), [2]);
    // 1101 dispatches (past one 1024-slot uniform slab): factors alternate 2, 0.5, … so the product is 2 only when
    // every dispatch reads its own factor.
    for (let index = 0; index < 1101; index++) {
      const next = b.scale(tensor, index % 2 === 0 ? 2 : 0.5);
      b.dispose(tensor);
      tensor = next;
    }
    expect(recorder.batch).toBe(batch);
    expect(recorder.dispatches).toBe(1101);
    expect(Array.from(await b.read(tensor))).toEqual([2, -6]);
    expect(recorder.batch).toBe(batch + 1);
    recorder.submitEvery = submitEvery;
  });

  it('submits long steps in parts (every submitEvery dispatches) with the same results', async (context) => {
    const b = backend(context);
    const recorder = b.runtime.recorder;
    const submitEvery = recorder.submitEvery;
    recorder.submitEvery = 7;
    try {
      const batch = recorder.batch;
      let tensor = b.upload(new Float32Array([1, -3]), [2]);
      for (let index = 0; index < 101; index++) {
        const next = b.scale(tensor, index % 2 === 0 ? 2 : 0.5);
        b.dispose(tensor);
        tensor = next;
        // A host write into a pooled buffer between the parts still lands in recording order.
        if (index === 50) {
          const probe = b.upload(new Float32Array([5, 6]), [2]);
          b.dispose(b.scale(probe, 1));
          b.dispose(probe);
        }
      }
      expect(recorder.batch).toBe(batch + Math.floor(102 / 7));
      expect(Array.from(await b.read(tensor))).toEqual([2, -6]);
    } finally {
      recorder.submitEvery = submitEvery;
    }
  });

  it('orders an upload after recorded reads of the same pooled buffer', async (context) => {
    const b = backend(context);
    const first = b.upload(new Float32Array([1, 2, 3, 4]), [4]);
    const doubled = b.scale(first, 2);
    b.dispose(first);
    // The pool hands `first`'s buffer out again; the write must land after the recorded scale read it.
    const second = b.upload(new Float32Array([10, 20, 30, 40]), [4]);
    const tripled = b.scale(second, 3);
    expect(Array.from(await b.read(doubled))).toEqual([2, 4, 6, 8]);
    expect(Array.from(await b.read(tripled))).toEqual([30, 60, 90, 120]);
  });

  it('reuses pooled buffers, pipelines and bind groups across identical steps', async (context) => {
    const b = backend(context);
    const step = async () => {
      const input = b.upload(new Float32Array(64).fill(1), [2, 32]);
      const normed = b.rmsNorm(input, undefined, 0);
      const out = b.add(normed, input);
      const values = await b.read(out);
      for (const tensor of [input, normed, out]) b.dispose(tensor);
      return values;
    };
    await step();
    const pipelines = b.runtime.pipelines.size;
    const live = b.runtime.pool.stats().liveBytes;
    expect(Array.from(await step())).toEqual(new Array(64).fill(2));
    expect(b.runtime.pipelines.size).toBe(pipelines);
    expect(b.runtime.pool.stats().liveBytes).toBe(live);
  });

  it('reports and releases pooled memory; weights count until disposed', async (context) => {
    const b = backend(context);
    const before = b.memory().weightBytes;
    const weight = await b.uploadWeight({ name: 'w', type: 'F32', shape: [4, 8] }, new Uint8Array(128));
    expect(b.memory().weightBytes).toBeGreaterThanOrEqual(before + 128);
    b.dispose(weight);
    expect(b.memory().weightBytes).toBe(before);
    b.dispose(b.scale(b.upload(new Float32Array(1000), [1000]), 2));
    expect(b.memory().pooledBytes).toBeGreaterThan(0);
    await b.releasePooledMemory();
    expect(b.memory().pooledBytes).toBe(0);
    expect(Array.from(await b.read(b.scale(b.upload(new Float32Array([2]), [1]), 2)))).toEqual([4]);
  });

  it('surfaces a shader error of recorded work as GPU_VALIDATION at the next read', async (context) => {
    const b = backend(context);
    const output = b.runtime.allocate('f32', [4]);
    b.runtime.dispatch({
      shader: { key: 'broken-for-test', storage: ['write'], code: () => 'this is not WGSL' },
      uniforms: new Uniforms().u(0).words,
      buffers: [{ tracked: output.tracked }],
      workgroups: [1],
    });
    const error = await b.read(output).catch((caught: unknown) => caught);
    expect(StrataError.isInstance(error, 'GPU_VALIDATION')).toBe(true);
    // The backend stays usable after the error was reported.
    expect(Array.from(await b.read(b.scale(b.upload(new Float32Array([1]), [1]), 3)))).toEqual([3]);
  });
});
