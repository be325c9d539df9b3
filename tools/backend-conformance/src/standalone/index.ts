/**
 * @packageDocumentation `@strata/backend-conformance/standalone`: runs the conformance suite without vitest, for a
 * machine with only node (the GPU machine). A bundle aliases `vitest` to `vitest-shim.ts`, so the suite's
 * `describe`/`it` register into {@link standaloneRegistry}; the bundle's entry then calls {@link reportRun} on it.
 */
export { type ReportOptions, reportRun } from './report-run.js';
export { standaloneExpect } from './standalone-expect.js';
export {
  describeError,
  type HookError,
  type RunOptions,
  type RunSummary,
  type TestBody,
  TestRegistry,
  type TestResult,
} from './test-registry.js';
export { standaloneRegistry } from './vitest-shim.js';
