import { describe, expect, it } from 'vitest';
import { type TestResult, TestRegistry } from './test-registry.js';
import { loggingRegistry } from './testing/logging-registry.js';

const LIMIT = { timeoutMilliseconds: 1000 };

describe('TestRegistry', () => {
  it('runs hooks in vitest order, tests in order, and counts a failed assertion', async () => {
    const log: string[] = [];
    const results: TestResult[] = [];
    const summary = await loggingRegistry(log).run({ ...LIMIT, onResult: (result) => results.push(result) });
    expect(log).toEqual([
      'outer beforeAll',
      'outer beforeEach',
      'first',
      'outer afterEach',
      'first finished 2',
      'first finished 1',
      'outer beforeEach',
      'inner beforeEach',
      'fails',
      'inner afterEach',
      'outer afterEach',
      'fails finished',
      'outer afterAll',
      'other beforeAll',
      'second',
    ]);
    expect(results.map((result) => [result.name, result.status])).toEqual([
      ['outer > first', 'passed'],
      ['outer > inner > fails', 'failed'],
      ['other > second', 'passed'],
    ]);
    expect(String(results[1]!.error)).toContain('sum: expected 2 to be 3');
    expect([summary.passed, summary.failed, summary.total, summary.hookErrors.length]).toEqual([2, 1, 3, 0]);
  });

  it('runs only the hooks of suites with selected tests', async () => {
    const log: string[] = [];
    const registry = loggingRegistry(log);
    expect(registry.list(/second/)).toEqual(['other > second']);
    const summary = await registry.run({ ...LIMIT, filter: /second/ });
    expect(log).toEqual(['other beforeAll', 'second']);
    expect([summary.passed, summary.failed, summary.total]).toEqual([1, 0, 1]);
  });

  it('fails every test of a suite whose beforeAll throws, still runs its afterAll, and reports afterAll errors', async () => {
    const log: string[] = [];
    const registry = new TestRegistry();
    registry.describe('broken', () => {
      registry.beforeAll(() => {
        throw new Error('no adapter');
      });
      registry.afterAll(() => {
        log.push('afterAll');
        throw new Error('release failed');
      });
      registry.it('a', () => log.push('a'));
      registry.describe('nested', () => {
        registry.beforeAll(() => log.push('nested beforeAll'));
        registry.it('b', () => log.push('b'));
      });
    });
    const results: TestResult[] = [];
    const summary = await registry.run({ ...LIMIT, onResult: (result) => results.push(result) });
    expect(log).toEqual(['afterAll']);
    expect(results.map((result) => result.status)).toEqual(['failed', 'failed']);
    expect(String(results[1]!.error)).toContain("beforeAll of 'broken' failed: Error: no adapter");
    expect(summary.hookErrors.map((hookError) => hookError.name)).toEqual(["afterAll of 'broken'"]);
    expect([summary.passed, summary.failed, summary.total]).toEqual([0, 2, 2]);
  });

  it('fails a test that outlives its timeout and rejects registration while running', async () => {
    const registry = new TestRegistry();
    registry.it('hangs', () => new Promise(() => {}), 20);
    registry.it('registers', () => registry.it('late', () => {}));
    const results: TestResult[] = [];
    await registry.run({ ...LIMIT, onResult: (result) => results.push(result) });
    expect(results.map((result) => String(result.error))).toEqual([
      "Error: test 'hangs' timed out after 20 ms",
      'Error: it() must be called while the tests are collected, not while they run',
    ]);
    expect(() => registry.onTestFinished(() => {})).toThrow('inside a test');
  });
});
