import { standaloneExpect } from '../standalone-expect.js';
import { TestRegistry } from '../test-registry.js';

/**
 * A registry whose hooks and tests push what runs onto `log`, in order: suite `outer` (all four hooks, a test that
 * registers two `onTestFinished` callbacks, inner suite `inner` with its own `beforeEach`/`afterEach` and a test whose
 * assertion fails) and suite `other` (a `beforeAll` and a passing test).
 */
export function loggingRegistry(log: string[]): TestRegistry {
  const registry = new TestRegistry();
  const { describe: suite, it: test, beforeAll, afterAll, beforeEach, afterEach, onTestFinished } = registry;
  suite('outer', () => {
    beforeAll(() => log.push('outer beforeAll'));
    afterAll(() => log.push('outer afterAll'));
    beforeEach(() => log.push('outer beforeEach'));
    afterEach(() => log.push('outer afterEach'));
    test('first', async () => {
      onTestFinished(() => log.push('first finished 1'));
      onTestFinished(() => log.push('first finished 2'));
      log.push('first');
    });
    suite('inner', () => {
      beforeEach(() => log.push('inner beforeEach'));
      afterEach(() => log.push('inner afterEach'));
      test('fails', () => {
        onTestFinished(() => log.push('fails finished'));
        log.push('fails');
        standaloneExpect(1 + 1, 'sum').toBe(3);
      });
    });
  });
  suite('other', () => {
    beforeAll(() => log.push('other beforeAll'));
    test('second', () => {
      log.push('second');
    });
  });
  return registry;
}
