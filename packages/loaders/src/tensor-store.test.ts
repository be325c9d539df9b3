import { describe, expect, it } from 'vitest';
import { bytesSource } from './byte-source/byte-source.js';
import { LocatedTensorStore } from './tensor-store.js';

const FILE = Uint8Array.from({ length: 64 }, (_, index) => index * 3);

function store(): LocatedTensorStore {
  const source = bytesSource(FILE, 'file');
  const entry = (name: string, byteLength: number) => ({
    name,
    type: 'F32' as const,
    sourceType: 'F32',
    shape: [byteLength / 4],
    byteLength,
  });
  return new LocatedTensorStore([
    { entry: entry('a', 16), source, offset: 8 },
    { entry: entry('b', 32), source, offset: 24 },
  ]);
}

describe('LocatedTensorStore.readRange', () => {
  it('reads any range of a tensor, relative to its first byte, and overlapping reads at once', async () => {
    const tensors = store();
    const first = new Uint8Array(5);
    const second = new Uint8Array(32);
    await Promise.all([tensors.readRange('b', 3, first), tensors.readRange('b', 0, second)]);
    expect(first).toEqual(FILE.subarray(27, 32));
    expect(second).toEqual(await tensors.readBytes('b'));
  });

  it('refuses ranges outside the tensor and unknown names', async () => {
    const tensors = store();
    await expect(tensors.readRange('a', 12, new Uint8Array(5))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(tensors.readRange('a', -1, new Uint8Array(1))).rejects.toMatchObject({ code: 'INVALID_ARGUMENT' });
    await expect(tensors.readRange('c', 0, new Uint8Array(1))).rejects.toMatchObject({ code: 'TENSOR_NOT_FOUND' });
  });
});
