import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { StrataError } from '@strata/core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireEntryLock } from './entry-lock.js';

let scratch: string;
let path: string;
beforeEach(async () => {
  scratch = await mkdtemp(join(tmpdir(), 'strata-lock-'));
  path = join(scratch, 'entry.lock');
});
afterEach(() => rm(scratch, { recursive: true, force: true }));

const exists = (file: string) =>
  stat(file).then(
    () => true,
    () => false,
  );
const failureOf = (work: Promise<unknown>) =>
  work.then(
    () => undefined,
    (error: unknown) => error,
  );
/** A lock file as another holder writes it. */
const foreignLock = (pid: number) =>
  writeFile(path, JSON.stringify({ pid, host: hostname(), token: 'someone else', acquired: Date.now() }));

describe('acquireEntryLock', () => {
  it('holds the lock file (pid, token) while held, and removes it on release, once', async () => {
    const lock = await acquireEntryLock(path);
    const owner = JSON.parse(await readFile(path, 'utf8')) as { pid: number; host: string };
    expect(owner).toMatchObject({ pid: process.pid, host: hostname() });
    await lock.release();
    expect(await exists(path)).toBe(false);
    await lock.release();
    // The next holder gets it at once.
    await (await acquireEntryLock(path, { timeoutMs: 100 })).release();
  });

  it('a waiter with no progress from the holder gives up with CACHE_LOCKED; one that sees progress keeps waiting', async () => {
    const holder = await acquireEntryLock(path);
    const started = performance.now();
    const failure = await failureOf(acquireEntryLock(path, { timeoutMs: 300, pollMs: 20 }));
    const waited = performance.now() - started;
    expect(StrataError.isInstance(failure, 'CACHE_LOCKED')).toBe(true);
    expect((failure as StrataError).details).toMatchObject({ pid: process.pid, timeoutMs: 300 });
    expect(waited).toBeGreaterThanOrEqual(300);

    // The holder's entry keeps growing for 900 ms, three times the timeout, then it lets go: the waiter gets it.
    let bytes = 0;
    const growing = setInterval(() => (bytes += 1), 50);
    setTimeout(() => {
      clearInterval(growing);
      void holder.release();
    }, 900);
    const patient = await acquireEntryLock(path, { timeoutMs: 300, pollMs: 20 }, async () => bytes);
    expect(performance.now() - started - waited).toBeGreaterThanOrEqual(800);
    await patient.release();
  });

  it('breaks a lock whose holder process is gone, and one not refreshed for staleMs', async () => {
    const gone = spawnSync(process.execPath, ['-e', '']).pid!;
    await foreignLock(gone);
    const after = await acquireEntryLock(path, { timeoutMs: 5_000 });
    expect(JSON.parse(await readFile(path, 'utf8'))).toMatchObject({ pid: process.pid });
    await after.release();

    // A running process (this one) under another token, but the file is a minute old: stale all the same.
    await foreignLock(process.pid);
    const minuteAgo = new Date(Date.now() - 60_000);
    await utimes(path, minuteAgo, minuteAgo);
    const fresh = await acquireEntryLock(path, { timeoutMs: 5_000, staleMs: 30_000 });
    await fresh.release();
    expect(await exists(path)).toBe(false);
  });

  it('the holder refreshes its lock file; a lock that is not its own is not removed on release', async () => {
    const lock = await acquireEntryLock(path, { heartbeatMs: 30 });
    const old = new Date(Date.now() - 60_000);
    await utimes(path, old, old);
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(Date.now() - (await stat(path)).mtimeMs).toBeLessThan(10_000);
    await foreignLock(process.pid); // taken over (a waiter judged it stale)
    await lock.release();
    expect(await exists(path)).toBe(true);
  });

  it('stops waiting with ABORTED when the signal fires', async () => {
    const holder = await acquireEntryLock(path);
    const controller = new AbortController();
    setTimeout(() => controller.abort(), 100);
    const failure = await failureOf(acquireEntryLock(path, { signal: controller.signal, timeoutMs: 60_000 }));
    expect(StrataError.isInstance(failure, 'ABORTED')).toBe(true);
    await holder.release();
  });
});
