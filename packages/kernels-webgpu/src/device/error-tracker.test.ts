import { StrataError } from '@strata/core';
import { afterEach, describe, expect, it } from 'vitest';
import { createWebGpuBackend } from '../webgpu-backend.js';
import { ErrorTracker } from './error-tracker.js';

/** A stand-in device with just what ErrorTracker touches. */
function fakeDevice() {
  let lose: (info: { reason: string; message: string }) => void = () => {};
  const scopes: (GPUError | null)[][] = [];
  const events = new EventTarget();
  const device = Object.assign(events, {
    lost: new Promise<{ reason: string; message: string }>((resolve) => {
      lose = resolve;
    }),
    pushErrorScope: () => scopes.push([]),
    popErrorScope: async () => scopes.pop()?.[0] ?? null,
  });
  return {
    device: device as unknown as GPUDevice,
    lose: (reason: string) => lose({ reason, message: 'driver reset' }),
    raise: (message: string) => {
      const error = { message } as GPUError;
      const scope = scopes[scopes.length - 1];
      if (scope !== undefined) scope.push(error);
      else events.dispatchEvent(Object.assign(new Event('uncapturederror'), { error }));
    },
  };
}

describe('ErrorTracker', () => {
  it('raises an uncaptured validation error once, at the next check', async () => {
    const fake = fakeDevice();
    const tracker = new ErrorTracker(fake.device);
    fake.raise('bind group mismatch');
    await expect(tracker.check()).rejects.toMatchObject({ code: 'GPU_VALIDATION' });
    await expect(tracker.check()).resolves.toBeUndefined();
  });

  it('classifies errors caught by the scopes around submissions, out-of-memory included', async () => {
    const fake = fakeDevice();
    const tracker = new ErrorTracker(fake.device);
    tracker.capture('a step', () => fake.raise('Out of memory allocating 8 GiB'));
    const error = await tracker.check().catch((caught: unknown) => caught);
    expect(StrataError.isInstance(error, 'OUT_OF_MEMORY')).toBe(true);
    expect((error as Error).message).toMatch(/a step/);
  });

  it('turns a device loss into DEVICE_LOST for every later call, but not a deliberate destroy', async () => {
    const destroyed = fakeDevice();
    const quiet = new ErrorTracker(destroyed.device);
    destroyed.lose('destroyed');
    await Promise.resolve();
    await expect(quiet.check()).resolves.toBeUndefined();

    const lost = fakeDevice();
    const tracker = new ErrorTracker(lost.device);
    lost.lose('unknown');
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(tracker.lost).toBe(true);
    expect(() => tracker.assertAlive()).toThrow(expect.objectContaining({ code: 'DEVICE_LOST' }));
    await expect(tracker.check()).rejects.toMatchObject({ code: 'DEVICE_LOST' });
  });
});

describe('createWebGpuBackend without an adapter', () => {
  const original = Object.getOwnPropertyDescriptor(globalThis, 'navigator');
  afterEach(() => {
    if (original === undefined) Reflect.deleteProperty(globalThis, 'navigator');
    else Object.defineProperty(globalThis, 'navigator', original);
  });

  it('throws NO_ADAPTER saying what to install', async () => {
    const gpu = { requestAdapter: async () => null };
    Object.defineProperty(globalThis, 'navigator', { value: { gpu }, configurable: true });
    const error = await createWebGpuBackend().catch((caught: unknown) => caught);
    expect(StrataError.isInstance(error, 'NO_ADAPTER')).toBe(true);
    expect((error as Error).message).toMatch(/lavapipe|driver/);
  });
});
