import { sha256 } from '@noble/hashes/sha2.js';
import { bytesToHex } from '@noble/hashes/utils.js';
import { StrataError } from '@strata/core';
import { checkReadRange } from '../byte-source/byte-source.js';
import type { CacheRecord, CacheWriter, ModelCacheStore } from './cache-store.js';

/** How a cached file's bytes are coming, for progress displays. */
export interface CacheProgress {
  /** The file's URL. */
  readonly url: string;
  /** `cache`: every byte was already stored; `network`: bytes are being downloaded (and stored). */
  readonly from: 'cache' | 'network';
  /** Bytes available so far (stored before this load included). */
  readonly loadedBytes: number;
  /** The file's size. */
  readonly totalBytes: number;
  /** Bytes that were already stored when this load started (a resumed download starts there). */
  readonly resumedFromBytes: number;
  /** Download speed over this load, bytes per second (0 before the first bytes arrive). */
  readonly bytesPerSecond: number;
  /** Estimated seconds until the file is complete; undefined while the speed is unknown. */
  readonly secondsLeft: number | undefined;
  /** True on the last report of this file. */
  readonly done: boolean;
}

/** What a download needs: where to store, what it fetched first, and how to ask for the rest. */
export interface DownloadPlan {
  /** Where the bytes go. */
  readonly store: ModelCacheStore;
  /** The partial record already written (byte length known, `complete: false`). */
  readonly record: CacheRecord;
  /** Bytes already stored (the first response starts there). */
  readonly stored: number;
  /** The response whose body continues at `stored` (after `skipBytes`). */
  readonly response: Response;
  /** Leading body bytes to drop (a full `200` answer to a resumed download of an unchanged file). */
  readonly skipBytes: number;
  /** Requests the bytes from `offset` to the end (a `206` starting at `offset`) after a dropped connection. */
  readonly resume: (offset: number) => Promise<Response>;
  /** The SHA-256 to verify against (caller's or server's), lowercase hex. */
  readonly sha256: string | undefined;
  /** How many dropped connections are resumed within this load before giving up. */
  readonly retries: number;
  /** Cancels the download. */
  readonly signal: AbortSignal | undefined;
  /** Called as bytes are stored. */
  readonly onProgress: ((progress: CacheProgress) => void) | undefined;
  /** Empties the stored data first (the server's file changed since the partial download). */
  readonly truncate: boolean;
}

/** Bytes gathered before one store write: few large writes instead of many small ones, at a bounded memory cost. */
const WRITE_BYTES = 1024 * 1024;
/** Bytes one network read may bring (the receive buffer of a BYOB read). */
const RECEIVE_BYTES = 256 * 1024;
/** Bytes of stored data hashed per read when a resumed download re-hashes what it already has. */
const HASH_READ_BYTES = 8 * 1024 * 1024;

/** Fills `target` with stored bytes: the store's `readInto` where it has one, else a read and a copy. */
export async function readStoredInto(
  store: ModelCacheStore,
  url: string,
  offset: number,
  target: Uint8Array,
): Promise<void> {
  if (store.readInto !== undefined) await store.readInto(url, offset, target);
  else target.set(await store.read(url, offset, target.byteLength));
}

function abortedError(url: string, cause: unknown): StrataError {
  return new StrataError(
    'ABORTED',
    `Loading ${url} was cancelled; the bytes downloaded so far stay in the cache and the next load resumes there.`,
    { cause, details: { url } },
  );
}

/**
 * A download into a {@link ModelCacheStore} that can be read while it runs: a read waits until its bytes are stored,
 * so tensors stream from the network through the cache into their destination in file order. The entry becomes
 * complete only after every byte is stored and verified; a failure or a cancellation leaves a partial entry that the
 * next load resumes with a range request.
 */
export class CacheDownload {
  /** Resolves to the complete, verified record; rejects like the download. */
  readonly completed: Promise<CacheRecord>;
  readonly #plan: DownloadPlan;
  readonly #url: string;
  readonly #total: number;
  #frontier: number;
  #failure: unknown;
  readonly #waiters = new Set<{ end: number; wake: () => void }>();
  readonly #started = performance.now();
  #lastReport = 0;
  /** The write buffer, reused by every response of the download. */
  #writeBuffer: Uint8Array | undefined;
  /** The receive buffer of BYOB reads, reused while reads succeed. */
  #receiveBuffer: Uint8Array | undefined;

  /** Starts the download at once. */
  constructor(plan: DownloadPlan) {
    this.#plan = plan;
    this.#url = plan.record.url;
    this.#total = plan.record.byteLength;
    this.#frontier = plan.stored;
    this.completed = this.#run();
    // The failure is reported through read() and completed; this keeps an unawaited completed from being unhandled.
    this.completed.catch(() => undefined);
  }

  /** Bytes stored so far. */
  get storedBytes(): number {
    return this.#frontier;
  }

  /** Reads bytes once they are stored; rejects with the download's error if it fails first. */
  async read(offset: number, length: number): Promise<Uint8Array> {
    checkReadRange(this.#url, this.#total, offset, length);
    await this.#stored(offset + length);
    return this.#plan.store.read(this.#url, offset, length);
  }

  /** Fills `target` with the bytes at `offset` once they are stored (in place, where the store can). */
  async readInto(offset: number, target: Uint8Array): Promise<void> {
    checkReadRange(this.#url, this.#total, offset, target.byteLength);
    await this.#stored(offset + target.byteLength);
    await readStoredInto(this.#plan.store, this.#url, offset, target);
  }

  /** Waits until the bytes before `end` are stored; rejects with the download's error if it fails first. */
  async #stored(end: number): Promise<void> {
    while (this.#frontier < end) {
      if (this.#failure !== undefined) throw this.#failure;
      await new Promise<void>((wake) => this.#waiters.add({ end, wake }));
    }
  }

  /** Whether a read is waiting for bytes that end at or before `end`. */
  #awaited(end: number): boolean {
    for (const waiter of this.#waiters) if (waiter.end <= end) return true;
    return false;
  }

  #wake(all: boolean): void {
    for (const waiter of this.#waiters) {
      if (all || waiter.end <= this.#frontier) {
        this.#waiters.delete(waiter);
        waiter.wake();
      }
    }
  }

  #report(done: boolean): void {
    const onProgress = this.#plan.onProgress;
    if (onProgress === undefined) return;
    const now = performance.now();
    if (!done && now - this.#lastReport < 50) return;
    this.#lastReport = now;
    const seconds = (now - this.#started) / 1000;
    const downloaded = this.#frontier - this.#plan.stored;
    const bytesPerSecond = seconds > 0 && downloaded > 0 ? downloaded / seconds : 0;
    onProgress({
      url: this.#url,
      from: 'network',
      loadedBytes: this.#frontier,
      totalBytes: this.#total,
      resumedFromBytes: this.#plan.stored,
      bytesPerSecond,
      secondsLeft: bytesPerSecond > 0 ? (this.#total - this.#frontier) / bytesPerSecond : undefined,
      done,
    });
  }

  async #run(): Promise<CacheRecord> {
    const { store, record } = this.#plan;
    let writer: CacheWriter | undefined;
    try {
      writer = await store.writer(this.#url, { truncate: this.#plan.truncate });
      const hash = this.#plan.sha256 === undefined ? undefined : sha256.create();
      if (hash !== undefined) {
        for (let offset = 0; offset < this.#plan.stored; offset += HASH_READ_BYTES) {
          hash.update(await store.read(this.#url, offset, Math.min(HASH_READ_BYTES, this.#plan.stored - offset)));
        }
      }
      await this.#receive(writer, hash);
      await writer.close();
      writer = undefined;
      const digest = hash === undefined ? undefined : bytesToHex(hash.digest());
      if (digest !== undefined && digest !== this.#plan.sha256) {
        await store.remove(this.#url);
        throw new StrataError(
          'INVALID_FILE',
          `${this.#url} has SHA-256 ${digest} but ${this.#plan.sha256} was expected; the download was removed from the cache, load it again.`,
          { details: { url: this.#url, expected: this.#plan.sha256, actual: digest } },
        );
      }
      const complete: CacheRecord = {
        ...record,
        complete: true,
        lastUsed: Date.now(),
        ...(digest === undefined ? {} : { sha256: digest }),
      };
      await store.putRecord(complete);
      this.#report(true);
      return complete;
    } catch (error) {
      this.#failure = this.#plan.signal?.aborted === true ? abortedError(this.#url, error) : error;
      this.#wake(true);
      throw this.#failure;
    } finally {
      await writer?.close().catch(() => undefined);
    }
  }

  async #receive(writer: CacheWriter, hash: ReturnType<typeof sha256.create> | undefined): Promise<void> {
    let response = this.#plan.response;
    let skip = this.#plan.skipBytes;
    let retriesLeft = this.#plan.retries;
    while (this.#frontier < this.#total) {
      try {
        await this.#pump(response, skip, writer, hash);
        if (this.#frontier < this.#total) {
          throw new StrataError('NETWORK_ERROR', `The connection ended at byte ${this.#frontier} of ${this.#total}.`);
        }
      } catch (error) {
        if (this.#plan.signal?.aborted === true) throw error;
        const stopped = (cause: unknown) =>
          new StrataError(
            'NETWORK_ERROR',
            `Downloading ${this.#url} stopped at byte ${this.#frontier} of ${this.#total}; the bytes so far are kept and the next load resumes there.`,
            { cause, details: { url: this.#url, storedBytes: this.#frontier, totalBytes: this.#total } },
          );
        if (retriesLeft <= 0) throw stopped(error);
        retriesLeft -= 1;
        try {
          response = await this.#plan.resume(this.#frontier);
        } catch (resumeError) {
          throw stopped(resumeError);
        }
        skip = 0;
      }
    }
  }

  /**
   * Reads `response`'s body into the store. Two buffers serve the whole download, whatever its size: bytes arrive in a
   * receive buffer (a BYOB read, where the body is a byte stream, so the network allocates nothing per chunk) and
   * gather in a write buffer that goes to the store when full, or at once when a reader waits for them.
   */
  async #pump(
    response: Response,
    skip: number,
    writer: CacheWriter,
    hash: ReturnType<typeof sha256.create> | undefined,
  ): Promise<void> {
    const body = response.body;
    if (body === null) throw new StrataError('NETWORK_ERROR', `${this.#url} answered without a body.`);
    let byob: ReadableStreamBYOBReader | undefined;
    try {
      byob = body.getReader({ mode: 'byob' });
    } catch {
      byob = undefined; // not a byte stream: chunks come as the stream makes them
    }
    const reader = byob ?? body.getReader();
    this.#writeBuffer ??= new Uint8Array(WRITE_BYTES);
    const gathered = this.#writeBuffer;
    let used = 0;
    let toSkip = skip;
    const flush = async () => {
      if (used === 0) return;
      const bytes = gathered.subarray(0, used);
      await writer.write(bytes);
      hash?.update(bytes);
      this.#frontier += used;
      used = 0;
      this.#wake(false);
      this.#report(false);
    };
    try {
      for (;;) {
        let chunk: Uint8Array;
        if (byob !== undefined) {
          // A failed read keeps the receive buffer (it was handed to the stream): a new one is made next time.
          const receive = this.#receiveBuffer ?? new Uint8Array(RECEIVE_BYTES);
          this.#receiveBuffer = undefined;
          const { done, value } = await byob.read(receive);
          if (value !== undefined) this.#receiveBuffer = new Uint8Array(value.buffer);
          if (done || value === undefined) break;
          chunk = value;
        } else {
          const { done, value } = await (reader as ReadableStreamDefaultReader<Uint8Array>).read();
          if (done) break;
          chunk = value;
        }
        if (toSkip > 0) {
          const dropped = Math.min(toSkip, chunk.byteLength);
          toSkip -= dropped;
          chunk = chunk.subarray(dropped);
        }
        const room = this.#total - this.#frontier - used;
        if (chunk.byteLength > room) chunk = chunk.subarray(0, room);
        while (chunk.byteLength > 0) {
          const take = Math.min(chunk.byteLength, gathered.byteLength - used);
          gathered.set(chunk.subarray(0, take), used);
          used += take;
          chunk = chunk.subarray(take);
          // Write when the buffer is full, or at once when a reader waits for bytes that have arrived.
          if (used === gathered.byteLength || this.#awaited(this.#frontier + used)) await flush();
        }
      }
    } finally {
      // Bytes received before a dropped connection are still good: store them so the resume starts after them.
      await flush();
      reader.releaseLock();
    }
    if (this.#frontier >= this.#total) await body.cancel().catch(() => undefined);
  }
}
