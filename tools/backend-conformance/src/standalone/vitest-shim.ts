/**
 * What a bundle gets instead of `vitest` (the bundler aliases `vitest` to this file; see
 * packages/pipeline/bench/device/device.tsup.config.ts): the exports of `vitest` that the conformance suite uses,
 * backed by one {@link TestRegistry} (`standaloneRegistry`) and `@vitest/expect`. A bundle that imports anything else
 * from `vitest` fails to build ("No matching export"), so nothing is silently missing at run time.
 */
import { standaloneExpect } from './standalone-expect.js';
import { TestRegistry } from './test-registry.js';

/** The registry every `describe`/`it` of the bundle registers into; the runner's entry runs it. */
export const standaloneRegistry = new TestRegistry();

/** vitest's `describe` (synchronous bodies only). */
export const describe = standaloneRegistry.describe;
/** vitest's `it` (`it(name, body, timeoutMilliseconds?)`). */
export const it = standaloneRegistry.it;
/** vitest's `test` (the same as `it`). */
export const test = standaloneRegistry.it;
/** vitest's `beforeAll`. */
export const beforeAll = standaloneRegistry.beforeAll;
/** vitest's `afterAll`. */
export const afterAll = standaloneRegistry.afterAll;
/** vitest's `beforeEach`. */
export const beforeEach = standaloneRegistry.beforeEach;
/** vitest's `afterEach`. */
export const afterEach = standaloneRegistry.afterEach;
/** vitest's `onTestFinished`. */
export const onTestFinished = standaloneRegistry.onTestFinished;
/** vitest's `expect`, from `@vitest/expect`. */
export const expect = standaloneExpect;
