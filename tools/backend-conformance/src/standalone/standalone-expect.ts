import {
  ASYMMETRIC_MATCHERS_OBJECT,
  ChaiStyleAssertions,
  chai,
  customMatchers,
  type ExpectStatic,
  GLOBAL_EXPECT,
  getState,
  JestAsymmetricMatchers,
  JestChaiExpect,
  JestExtend,
  type MatchersObject,
  setState,
} from '@vitest/expect';

chai.use(JestExtend);
chai.use(JestChaiExpect);
chai.use(ChaiStyleAssertions);
chai.use(JestAsymmetricMatchers);

/**
 * vitest's `expect` outside vitest: the same matchers (`@vitest/expect`, Jest's matchers as a chai plugin, and its
 * custom ones such as `toSatisfy`), built the way vitest's own `createExpect` builds it, without a test context:
 * `.resolves`/`.rejects`, `.not`, `expect.fail`, messages (`expect(value, message)`) and `expect.extend` work;
 * `expect.soft`, `expect.poll`, `expect.assertions` and snapshots do not.
 */
function createStandaloneExpect(): ExpectStatic {
  const expect = ((value: unknown, message?: string) => {
    const { assertionCalls } = getState(expect);
    setState({ assertionCalls: assertionCalls + 1 }, expect);
    return chai.expect(value, message);
  }) as unknown as ExpectStatic;
  Object.assign(expect, chai.expect);
  Object.assign(expect, (globalThis as Record<symbol, unknown>)[ASYMMETRIC_MATCHERS_OBJECT]);
  expect.getState = () => getState(expect);
  expect.setState = (state) => setState(state, expect);
  setState(
    {
      assertionCalls: 0,
      isExpectingAssertions: false,
      isExpectingAssertionsError: null,
      expectedAssertionsNumber: null,
      expectedAssertionsNumberErrorGen: null,
    },
    expect,
  );
  // JestExtend adds `extend(expect, matchers)` to chai's expect (untyped), as vitest's own createExpect uses it.
  const chaiExpect = chai.expect as unknown as { extend(target: ExpectStatic, matchers: MatchersObject): void };
  expect.extend = (matchers) => chaiExpect.extend(expect, matchers);
  expect.extend(customMatchers);
  return expect;
}

/** The `expect` of the standalone runner (see `createStandaloneExpect` above for what it supports). */
export const standaloneExpect: ExpectStatic = createStandaloneExpect();

// Asymmetric matchers read the state of the global expect; under vitest its own stays in place.
if (!Object.hasOwn(globalThis, GLOBAL_EXPECT)) {
  Object.defineProperty(globalThis, GLOBAL_EXPECT, { value: standaloneExpect, writable: true, configurable: true });
}
