import { describe, expect, it } from 'vitest';
import { standaloneExpect } from './standalone-expect.js';

describe('standaloneExpect', () => {
  it('has the matchers the conformance cases use', async () => {
    standaloneExpect([1, 2]).toEqual([1, 2]);
    standaloneExpect([1, 2]).toContain(2);
    standaloneExpect([1, 2]).not.toContain(3);
    standaloneExpect(0.1 + 0.2).toBeCloseTo(0.3, 5);
    standaloneExpect(2).toBeGreaterThan(1);
    standaloneExpect(0).toBeDefined();
    await standaloneExpect(Promise.reject(new Error('bad'))).rejects.toSatisfy(
      (error) => (error as Error).message === 'bad',
    );
    expect(() => standaloneExpect([1, 2]).toEqual([1, 3])).toThrow('expected [ 1, 2 ] to deeply equal [ 1, 3 ]');
    expect(() => standaloneExpect.fail('custom failure')).toThrow('custom failure');
    expect(() => standaloneExpect(undefined, 'the value').toBeDefined()).toThrow('the value');
  });
});
