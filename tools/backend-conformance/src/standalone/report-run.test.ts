import { describe, expect, it } from 'vitest';
import { reportRun } from './report-run.js';
import { loggingRegistry } from './testing/logging-registry.js';

const LIMIT = { timeoutMilliseconds: 1000 };

describe('reportRun', () => {
  it('prints a line per test, a summary, and returns the exit code', async () => {
    const lines: string[] = [];
    const code = await reportRun(loggingRegistry([]), { ...LIMIT, write: (line) => lines.push(line) });
    expect(code).toBe(1);
    expect(lines[0]).toMatch(/^PASS {2}outer > first \(\d+ ms\)$/);
    expect(lines[1]).toMatch(/^FAIL {2}outer > inner > fails \(\d+ ms\): AssertionError: sum: expected 2 to be 3/);
    expect(lines.at(-1)).toMatch(/^2 passed, 1 failed, 3 total, \d+\.\d s$/);
    expect(await reportRun(loggingRegistry([]), { ...LIMIT, filter: /second/, write: () => {} })).toBe(0);
    expect(await reportRun(loggingRegistry([]), { ...LIMIT, filter: /nothing/, write: () => {} })).toBe(2);
  });
});
