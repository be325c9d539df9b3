import { type Backend, createEagerStepPlan } from '@strata/core';
import { createCpuBackend } from '@strata/kernels-cpu';
import { describe, expect, it } from 'vitest';
import { createToyModel } from '../testing/toy-model.js';
import { LocalExecutor } from './local-executor.js';

/** A CPU backend that logs the ops a step runs, in order. */
function loggingBackend(log: string[]): Backend {
  const backend = createCpuBackend();
  const proxy: Backend = new Proxy(backend, {
    get(target, key) {
      const member = Reflect.get(target, key, target) as unknown;
      if (typeof member !== 'function') return member;
      if (key === 'captureStep') {
        return (rows: number, body: Parameters<Backend['captureStep']>[1]) => createEagerStepPlan(proxy, rows, body);
      }
      return (...args: unknown[]) => {
        log.push(String(key));
        return (member as (...values: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return proxy;
}

describe('a token choice given as a promise (a grammar mask being computed)', () => {
  it('lets the step run first: the lm head is computed before the choice is awaited, the token after', async () => {
    const log: string[] = [];
    const backend = loggingBackend(log);
    const executor = new LocalExecutor(await createToyModel(backend), backend, { contextLength: 16, chunkSize: 4 });
    for (const capturedDecode of [false, true]) {
      log.length = 0;
      let resolve!: (choice: { kind: 'greedy' }) => void;
      const choice = new Promise<{ kind: 'greedy' }>((done) => {
        resolve = done;
      });
      const step = executor.forward({ ids: Int32Array.of(3), firstPosition: capturedDecode ? 1 : 0, choice });
      await new Promise((done) => setTimeout(done, 0));
      log.push('choice ready');
      resolve({ kind: 'greedy' });
      const result = await step;
      expect(result.token).toBeTypeOf('number');
      const ready = log.indexOf('choice ready');
      expect(log.slice(0, ready)).toContain('matmul');
      expect(log.slice(0, ready)).not.toContain('argmax');
      expect(log.slice(ready)).toContain('argmax');
    }
    await executor.dispose();
  });
});
