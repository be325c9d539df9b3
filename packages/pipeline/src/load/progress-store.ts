import type { TensorStore } from '@strata/loaders';

/** Loading progress: bytes and tensors read from the model's files so far, out of the totals. */
export interface LoadProgress {
  /** Bytes of tensor data read so far. */
  readonly loadedBytes: number;
  /** Bytes of every tensor in the files (a pipeline stage reads only its part). */
  readonly totalBytes: number;
  /** Tensors read completely. */
  readonly loadedTensors: number;
  /** Tensors in the files. */
  readonly totalTensors: number;
  /** True on the last report, once loading finished. */
  readonly done: boolean;
}

/**
 * Wraps a tensor store so that every byte read is reported to `onProgress` (as bytes and whole tensors). Returns the
 * store and a function that sends the final report.
 */
export function trackProgress(
  store: TensorStore,
  onProgress: (progress: LoadProgress) => void,
): { store: TensorStore; finish: () => void } {
  let totalBytes = 0;
  for (const entry of store.tensors.values()) totalBytes += entry.byteLength;
  const totalTensors = store.tensors.size;
  let loadedBytes = 0;
  const finished = new Set<string>();
  /** Bytes read so far of each tensor read in ranges (finished once they reach its size). */
  const rangeBytes = new Map<string, number>();
  const report = (done: boolean) =>
    onProgress({ loadedBytes, totalBytes, loadedTensors: finished.size, totalTensors, done });
  const tracked: TensorStore = {
    tensors: store.tensors,
    get: (name) => store.get(name),
    async readBytes(name) {
      const bytes = await store.readBytes(name);
      loadedBytes += bytes.byteLength;
      finished.add(name);
      report(false);
      return bytes;
    },
    async *streamBytes(name, chunkBytes, into) {
      for await (const chunk of store.streamBytes(name, chunkBytes, into)) {
        loadedBytes += chunk.byteLength;
        report(false);
        yield chunk;
      }
      finished.add(name);
      report(false);
    },
  };
  const readRange = store.readRange?.bind(store);
  if (readRange !== undefined) {
    tracked.readRange = async (name, offset, target) => {
      await readRange(name, offset, target);
      loadedBytes += target.byteLength;
      const read = (rangeBytes.get(name) ?? 0) + target.byteLength;
      rangeBytes.set(name, read);
      if (read >= store.get(name).byteLength) finished.add(name);
      report(false);
    };
  }
  return { store: tracked, finish: () => report(true) };
}
