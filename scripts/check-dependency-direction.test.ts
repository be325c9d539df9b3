import { execFileSync } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const script = new URL('./check-dependency-direction.mjs', import.meta.url).pathname;
const repositoryRoot = new URL('..', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'strata-layers-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function check(root: string): { status: number; output: string } {
  try {
    return { status: 0, output: execFileSync('node', [script, root], { encoding: 'utf8', stdio: 'pipe' }) };
  } catch (error) {
    const failure = error as { status: number; stderr: string };
    return { status: failure.status, output: failure.stderr };
  }
}

describe('dependency direction check', () => {
  it('passes on the repository as it is', () => {
    expect(check(repositoryRoot).status).toBe(0);
  });

  it('fails when a lower package imports a higher one (a planted violation)', () => {
    cpSync(join(repositoryRoot, 'packages/core'), join(scratch, 'packages/core'), {
      recursive: true,
      filter: (path) => !path.includes('node_modules'),
    });
    writeFileSync(join(scratch, 'packages/core/src/planted.ts'), "export { TextPipeline } from '@strata/pipeline';\n");
    const result = check(scratch);
    expect(result.status).toBe(1);
    expect(result.output).toMatch(/@strata\/core imports @strata\/pipeline/);
  });
});
