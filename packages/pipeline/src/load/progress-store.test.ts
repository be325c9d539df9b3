import { bytesSource, LocatedTensorStore } from '@strata/loaders';
import { describe, expect, it } from 'vitest';
import { type LoadProgress, trackProgress } from './progress-store.js';

/** Two F32 tensors, `a` (16 bytes) and `b` (32 bytes), side by side in one 64-byte file. */
function store(): LocatedTensorStore {
  const source = bytesSource(new Uint8Array(64), 'file');
  const tensors: [string, number, number][] = [
    ['a', 16, 0],
    ['b', 32, 16],
  ];
  return new LocatedTensorStore(
    tensors.map(([name, byteLength, offset]) => ({
      entry: { name, type: 'F32', sourceType: 'F32', shape: [byteLength / 4], byteLength },
      source,
      offset,
    })),
  );
}

describe('trackProgress', () => {
  it('counts range reads as bytes, and a tensor as read once all its bytes are', async () => {
    const reports: LoadProgress[] = [];
    const { store: tracked, finish } = trackProgress(store(), (report) => reports.push(report));
    await tracked.readRange!('b', 0, new Uint8Array(20));
    expect(reports.at(-1)).toMatchObject({ loadedBytes: 20, totalBytes: 48, loadedTensors: 0, done: false });
    await Promise.all([
      tracked.readRange!('b', 20, new Uint8Array(12)),
      tracked.readRange!('a', 0, new Uint8Array(16)),
    ]);
    expect(reports.at(-1)).toMatchObject({ loadedBytes: 48, loadedTensors: 2 });
    finish();
    expect(reports.at(-1)?.done).toBe(true);
  });
});
