import { randomUUID } from 'node:crypto';
import { link, open, readFile, rename, rm, stat, utimes } from 'node:fs/promises';
import { hostname } from 'node:os';
import { StrataError } from '@strata/core';
import type { CacheEntryLock, CacheLockOptions } from '../cache/cache-store.js';

/** Timings of {@link acquireEntryLock}. */
export interface EntryLockTimings {
  /** How long a waiter waits while the holder makes no progress, before `CACHE_LOCKED` (default 60 s). */
  readonly timeoutMs?: number;
  /** How often the holder refreshes its lock file's time (default 2 s). */
  readonly heartbeatMs?: number;
  /** A lock file not refreshed for this long is stale, whoever holds it (default 30 s). */
  readonly staleMs?: number;
  /** How often a waiter looks again (default 50 ms). */
  readonly pollMs?: number;
}

/** What a lock file holds. */
interface LockOwner {
  readonly pid: number;
  readonly host: string;
  readonly token: string;
  readonly acquired: number;
}

const isCode = (error: unknown, code: string) => (error as { code?: unknown } | null)?.code === code;

function ioError(path: string, what: string, cause: unknown): StrataError {
  const code = (cause as { code?: unknown } | null)?.code;
  return new StrataError(
    'IO_ERROR',
    `Could not ${what} the lock ${path}${typeof code === 'string' ? ` (${code})` : ''}; check the cache directory's permissions.`,
    { cause, details: { path } },
  );
}

/** Whether process `pid` of this host still runs (a process of another user counts as running). */
function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return !isCode(error, 'ESRCH');
  }
}

async function readOwner(path: string): Promise<LockOwner | undefined> {
  try {
    const value = JSON.parse(await readFile(path, 'utf8')) as Partial<LockOwner>;
    return typeof value.pid === 'number' && typeof value.token === 'string' && typeof value.host === 'string'
      ? (value as LockOwner)
      : undefined;
  } catch {
    return undefined; // gone, or half written by a process that died while creating it
  }
}

/** Creates the lock file if there is none; resolves to whether this call made it. */
async function tryCreate(path: string, owner: LockOwner): Promise<boolean> {
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(path, 'wx');
  } catch (error) {
    if (isCode(error, 'EEXIST')) return false;
    throw ioError(path, 'create', error);
  }
  try {
    await handle.writeFile(JSON.stringify(owner));
  } finally {
    await handle.close();
  }
  return true;
}

/**
 * Removes the lock file at `path` if it is stale: its holder was a process of this host that no longer runs, or it was
 * not refreshed for `staleMs`. The file is first renamed away (atomic: of two processes breaking it, one wins), then
 * checked again; a lock that turns out live (taken over in between) is put back.
 */
async function breakIfStale(path: string, staleMs: number): Promise<void> {
  let modified: number;
  try {
    modified = (await stat(path)).mtimeMs;
  } catch (error) {
    if (isCode(error, 'ENOENT')) return;
    throw ioError(path, 'read', error);
  }
  const owner = await readOwner(path);
  const dead = owner !== undefined && owner.host === hostname() && !isRunning(owner.pid);
  if (!dead && Date.now() - modified < staleMs) return;
  const aside = `${path}.stale-${randomUUID()}`;
  try {
    await rename(path, aside);
  } catch (error) {
    if (isCode(error, 'ENOENT')) return; // another waiter broke it first
    throw ioError(path, 'break', error);
  }
  const taken = await readOwner(aside);
  if (taken !== undefined && owner !== undefined && taken.token !== owner.token) {
    // Not the lock judged stale: a new holder's. Put it back unless yet another one was made meanwhile.
    await link(aside, path).catch(() => undefined);
  }
  await rm(aside, { force: true });
}

function abortedError(path: string, cause: unknown): StrataError {
  return new StrataError('ABORTED', `Waiting for the cache entry lock ${path} was cancelled.`, {
    cause,
    details: { path },
  });
}

/**
 * Takes the inter-process lock of one cache entry: the file `path`, created exclusively (`O_EXCL`) with this process's
 * pid, host and a random token, and refreshed every `heartbeatMs` while held. A waiter polls; it breaks a stale lock
 * (its holder's pid gone on this host, or not refreshed for `staleMs`), and gives up with `CACHE_LOCKED` after
 * `timeoutMs` during which the holder made no progress (`progress()`, such as the entry's stored bytes, did not
 * change), or with `ABORTED` when `options.signal` fires. The lock is released by {@link CacheEntryLock.release}
 * (the file is removed only while it is still this holder's).
 */
export async function acquireEntryLock(
  path: string,
  options: CacheLockOptions & EntryLockTimings = {},
  progress: () => Promise<unknown> = async () => undefined,
): Promise<CacheEntryLock> {
  const timeoutMs = options.timeoutMs ?? 60_000;
  const heartbeatMs = options.heartbeatMs ?? 2_000;
  const staleMs = options.staleMs ?? 30_000;
  const pollMs = options.pollMs ?? 50;
  const owner: LockOwner = { pid: process.pid, host: hostname(), token: randomUUID(), acquired: Date.now() };
  let seen = await progress();
  let deadline = Date.now() + timeoutMs;
  while (!(await tryCreate(path, owner))) {
    if (options.signal?.aborted === true) throw abortedError(path, options.signal.reason);
    await breakIfStale(path, staleMs);
    const now = await progress();
    if (now !== seen) {
      seen = now;
      deadline = Date.now() + timeoutMs;
    }
    if (Date.now() >= deadline) {
      const holder = await readOwner(path);
      throw new StrataError(
        'CACHE_LOCKED',
        `Another process${holder === undefined ? '' : ` (pid ${holder.pid} on ${holder.host})`} holds the cache entry ${path} and made no progress for ${Math.round(timeoutMs / 1000)} s; try again later, or delete the lock file if that process is gone.`,
        { details: { path, timeoutMs, ...(holder === undefined ? {} : { pid: holder.pid, host: holder.host }) } },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, pollMs));
  }
  const heartbeat = setInterval(() => {
    const now = new Date();
    utimes(path, now, now).catch(() => undefined);
  }, heartbeatMs);
  heartbeat.unref();
  let released = false;
  return {
    async release() {
      if (released) return;
      released = true;
      clearInterval(heartbeat);
      if ((await readOwner(path))?.token === owner.token) await rm(path, { force: true });
    },
  };
}
