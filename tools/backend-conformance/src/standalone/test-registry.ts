/** A test body or a hook: may return a promise, which is awaited. */
export type TestBody = () => unknown;

/** What one selected test came to. */
export interface TestResult {
  /** The suite names and the test name, joined with ` > `. */
  readonly name: string;
  /** `failed` when the test, one of its hooks or one of its `onTestFinished` callbacks threw or timed out. */
  readonly status: 'passed' | 'failed';
  /** The first error, when failed. */
  readonly error?: unknown;
  /** Wall time of the test with its `beforeEach`/`afterEach` hooks, in milliseconds. */
  readonly milliseconds: number;
}

/** An error outside any test: an `afterAll` hook that threw (a failed `beforeAll` fails its suite's tests instead). */
export interface HookError {
  /** `afterAll of <suite name>`. */
  readonly name: string;
  /** What it threw. */
  readonly error: unknown;
}

/** Options of {@link TestRegistry.run}. */
export interface RunOptions {
  /** Runs only the tests whose full name (suites and test joined with ` > `) matches; hooks of suites left empty do not run. */
  readonly filter?: RegExp;
  /** Limit of each test body and each hook, in milliseconds (a test's own `it(name, body, timeout)` wins). */
  readonly timeoutMilliseconds: number;
  /** Called as each selected test ends. */
  readonly onResult?: (result: TestResult) => void;
  /** Called for each `afterAll` hook that throws. */
  readonly onHookError?: (error: HookError) => void;
}

/** What {@link TestRegistry.run} returns. */
export interface RunSummary {
  /** Selected tests that passed. */
  readonly passed: number;
  /** Selected tests that failed (a failed `beforeAll` fails every selected test of its suite). */
  readonly failed: number;
  /** Selected tests. */
  readonly total: number;
  /** `afterAll` hooks that threw. */
  readonly hookErrors: readonly HookError[];
  /** Wall time of the run, in seconds. */
  readonly seconds: number;
}

interface TestNode {
  readonly kind: 'test';
  readonly name: string;
  readonly body: TestBody;
  readonly timeout: number | undefined;
}

interface SuiteNode {
  readonly kind: 'suite';
  readonly name: string;
  readonly children: (SuiteNode | TestNode)[];
  readonly beforeAll: TestBody[];
  readonly afterAll: TestBody[];
  readonly beforeEach: TestBody[];
  readonly afterEach: TestBody[];
}

function suiteNode(name: string): SuiteNode {
  return { kind: 'suite', name, children: [], beforeAll: [], afterAll: [], beforeEach: [], afterEach: [] };
}

function joinName(prefix: string, name: string): string {
  return prefix === '' ? name : `${prefix} > ${name}`;
}

async function withTimeout(body: TestBody, milliseconds: number, what: string): Promise<void> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} timed out after ${milliseconds} ms`)), milliseconds);
  });
  try {
    await Promise.race([Promise.resolve().then(body), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/**
 * The `describe` / `it` tree of a test file and its runner, with vitest's semantics for what the conformance suite
 * uses: suites collect synchronously in order; tests run one at a time in order; `beforeAll` runs before a suite's
 * first selected test and `afterAll` after its last (also when a `beforeAll` threw, like vitest); `beforeEach` hooks run
 * outermost first, `afterEach` hooks and `onTestFinished` callbacks in reverse order, after the test even when it
 * failed. A failed `beforeAll` fails the suite's selected tests without running them or the hooks of its inner suites.
 * The methods are bound, so `const { describe, it } = registry` works.
 */
export class TestRegistry {
  private readonly root = suiteNode('');
  private current: SuiteNode = this.root;
  private finishers: TestBody[] | undefined;
  private running = false;

  /** Registers a suite: `body` runs now and registers the suite's tests, hooks and inner suites. */
  readonly describe = (name: string, body: () => void): void => {
    this.assertCollecting('describe');
    const suite = suiteNode(name);
    this.current.children.push(suite);
    const parent = this.current;
    this.current = suite;
    try {
      const result = body() as unknown;
      if (result instanceof Promise)
        throw new Error(`describe('${name}'): the standalone runner takes synchronous bodies only`);
    } finally {
      this.current = parent;
    }
  };

  /** Registers a test of the current suite; `timeout` (milliseconds) overrides the run's limit for it. */
  readonly it = (name: string, body: TestBody, timeout?: number): void => {
    this.assertCollecting('it');
    this.current.children.push({ kind: 'test', name, body, timeout });
  };

  /** Registers a hook run once before the current suite's first selected test. */
  readonly beforeAll = (hook: TestBody): void => {
    this.assertCollecting('beforeAll');
    this.current.beforeAll.push(hook);
  };

  /** Registers a hook run once after the current suite's last selected test. */
  readonly afterAll = (hook: TestBody): void => {
    this.assertCollecting('afterAll');
    this.current.afterAll.push(hook);
  };

  /** Registers a hook run before each test of the current suite and its inner suites. */
  readonly beforeEach = (hook: TestBody): void => {
    this.assertCollecting('beforeEach');
    this.current.beforeEach.push(hook);
  };

  /** Registers a hook run after each test of the current suite and its inner suites. */
  readonly afterEach = (hook: TestBody): void => {
    this.assertCollecting('afterEach');
    this.current.afterEach.push(hook);
  };

  /** Registers a callback run when the test now running ends (after its `afterEach` hooks), passed or failed. */
  readonly onTestFinished = (callback: TestBody): void => {
    if (this.finishers === undefined) throw new Error('onTestFinished() can only be called inside a test');
    this.finishers.push(callback);
  };

  /** Full names of the registered tests that `filter` selects, in run order. */
  list(filter?: RegExp): string[] {
    const names: string[] = [];
    const visit = (suite: SuiteNode, prefix: string): void => {
      for (const child of suite.children) {
        const name = joinName(prefix, child.name);
        if (child.kind === 'suite') visit(child, name);
        else if (filter === undefined || filter.test(name)) names.push(name);
      }
    };
    visit(this.root, '');
    return names;
  }

  /** Runs the selected tests once, in order, and counts the outcomes. */
  async run(options: RunOptions): Promise<RunSummary> {
    if (this.running) throw new Error('the tests are already running');
    this.running = true;
    const started = performance.now();
    const counts = { passed: 0, failed: 0 };
    const hookErrors: HookError[] = [];
    const report = (result: TestResult): void => {
      counts[result.status]++;
      options.onResult?.(result);
    };
    const selected = (name: string): boolean => options.filter === undefined || options.filter.test(name);
    const hasSelected = (suite: SuiteNode, prefix: string): boolean =>
      suite.children.some((child) => {
        const name = joinName(prefix, child.name);
        return child.kind === 'suite' ? hasSelected(child, name) : selected(name);
      });

    const runTest = async (test: TestNode, name: string, chain: readonly SuiteNode[]): Promise<void> => {
      const limit = test.timeout ?? options.timeoutMilliseconds;
      const testStarted = performance.now();
      const errors: unknown[] = [];
      const attempt = async (body: TestBody, what: string): Promise<void> => {
        try {
          await withTimeout(body, limit, what);
        } catch (error) {
          errors.push(error);
        }
      };
      this.finishers = [];
      const beforeEach = chain.flatMap((suite) => suite.beforeEach);
      const afterEach = chain.flatMap((suite) => suite.afterEach).reverse();
      for (const hook of beforeEach) if (errors.length === 0) await attempt(hook, 'beforeEach');
      if (errors.length === 0) await attempt(test.body, `test '${test.name}'`);
      for (const hook of afterEach) await attempt(hook, 'afterEach');
      const finishers = this.finishers;
      this.finishers = undefined;
      for (const callback of finishers.reverse()) await attempt(callback, 'onTestFinished');
      const milliseconds = performance.now() - testStarted;
      report(
        errors.length === 0
          ? { name, status: 'passed', milliseconds }
          : { name, status: 'failed', error: errors[0], milliseconds },
      );
    };

    const runSuite = async (
      suite: SuiteNode,
      prefix: string,
      chain: readonly SuiteNode[],
      blocked: unknown,
    ): Promise<void> => {
      if (!hasSelected(suite, prefix)) return;
      const inner = [...chain, suite];
      const title = prefix === '' ? 'the top level' : `'${prefix}'`;
      let setupError = blocked;
      if (blocked === undefined) {
        for (const hook of suite.beforeAll) {
          try {
            await withTimeout(hook, options.timeoutMilliseconds, `beforeAll of ${title}`);
          } catch (error) {
            setupError = new Error(`beforeAll of ${title} failed: ${describeError(error)}`, { cause: error });
            break;
          }
        }
      }
      for (const child of suite.children) {
        const name = joinName(prefix, child.name);
        if (child.kind === 'suite') await runSuite(child, name, inner, setupError);
        else if (!selected(name)) continue;
        else if (setupError !== undefined) report({ name, status: 'failed', error: setupError, milliseconds: 0 });
        else await runTest(child, name, inner);
      }
      if (blocked !== undefined) return;
      for (const hook of [...suite.afterAll].reverse()) {
        try {
          await withTimeout(hook, options.timeoutMilliseconds, `afterAll of ${title}`);
        } catch (error) {
          const hookError = { name: `afterAll of ${title}`, error };
          hookErrors.push(hookError);
          options.onHookError?.(hookError);
        }
      }
    };

    try {
      await runSuite(this.root, '', [], undefined);
    } finally {
      this.running = false;
    }
    return {
      passed: counts.passed,
      failed: counts.failed,
      total: counts.passed + counts.failed,
      hookErrors,
      seconds: (performance.now() - started) / 1000,
    };
  }

  private assertCollecting(what: string): void {
    if (this.running || this.finishers !== undefined) {
      throw new Error(`${what}() must be called while the tests are collected, not while they run`);
    }
  }
}

/** `Name: message` of a thrown value (`code` included for errors that carry one, like `StrataError`). */
export function describeError(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const code = (error as { code?: unknown }).code;
  return `${error.name}${typeof code === 'string' ? ` [${code}]` : ''}: ${error.message}`;
}
