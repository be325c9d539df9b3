/**
 * A weight's bytes that can be read at any offset, in any order and several ranges at once, as well as streamed in
 * order (it is an `AsyncIterable` of consecutive pieces, so a backend that only streams takes it as it is). A backend
 * that can write into device memory the host maps reads each range straight into it (`readInto`), in parallel slices,
 * with no copy in between.
 */
export interface WeightByteReader extends AsyncIterable<Uint8Array> {
  /** Bytes of the whole weight. */
  readonly byteLength: number;
  /**
   * Fills `target` with the bytes at `offset … offset + target.byteLength` of the weight. Several calls may be in
   * flight at once, each with its own target; the target is the caller's again once the promise settles.
   */
  readInto(offset: number, target: Uint8Array): Promise<void>;
}

/** Whether `bytes` also reads ranges ({@link WeightByteReader}), not only streams. */
export function isWeightByteReader(bytes: unknown): bytes is WeightByteReader {
  if (typeof bytes !== 'object' || bytes === null || bytes instanceof Uint8Array) return false;
  const candidate = bytes as Partial<WeightByteReader>;
  return (
    typeof candidate.readInto === 'function' &&
    typeof candidate.byteLength === 'number' &&
    typeof (candidate as AsyncIterable<Uint8Array>)[Symbol.asyncIterator] === 'function'
  );
}

/**
 * Waits for every one of `reads` to settle, then throws the first failure, if any. A reader's target is free again only
 * once every read into it has settled (memory mapped for a device upload is unmapped right after), so a read split in
 * parts must not give up at the first failed part, as `Promise.all` does.
 */
export async function settleReads(reads: readonly Promise<void>[]): Promise<void> {
  const settled = await Promise.allSettled(reads);
  const failure = settled.find((outcome): outcome is PromiseRejectedResult => outcome.status === 'rejected');
  if (failure !== undefined) throw failure.reason;
}
