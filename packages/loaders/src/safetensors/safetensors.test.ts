import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { type StrataErrorCode, StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../byte-source/byte-source.js';
import { sourcesDirectory } from '../byte-source/directory-source.js';
import { fileSource } from '../node/file-source.js';
import { openGgufFile } from '../node/gguf-files.js';
import { openSafetensors } from './safetensors.js';
import { openSafetensorsIndex } from './safetensors-index.js';

const fixtures = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));
const modelNames = readdirSync(`${fixtures}models`).filter((name) => name !== 'quant-base');

/** A safetensors file from a header object and a data section. */
function safetensors(header: unknown, data: Uint8Array = new Uint8Array(0), rawHeader?: string): Uint8Array {
  const json = new TextEncoder().encode(rawHeader ?? JSON.stringify(header));
  const bytes = new Uint8Array(8 + json.byteLength + data.byteLength);
  new DataView(bytes.buffer).setBigUint64(0, BigInt(json.byteLength), true);
  bytes.set(json, 8);
  bytes.set(data, 8 + json.byteLength);
  return bytes;
}

async function expectCode(bytes: Uint8Array, code: StrataErrorCode): Promise<void> {
  const error = await openSafetensors(bytesSource(bytes, 'bad.safetensors')).then(
    () => undefined,
    (caught: unknown) => caught,
  );
  expect(StrataError.isInstance(error) ? error.code : String(error)).toBe(code);
}

describe('safetensors reader', () => {
  it.each(modelNames)('%s/model.safetensors matches the GGUF conversion of the same weights', async (name) => {
    const file = await openSafetensors(await fileSource(`${fixtures}models/${name}/model.safetensors`));
    const gguf = await openGgufFile(`${fixtures}models/${name}/model-f32.gguf`);
    expect(file.tensors.tensors.size).toBeGreaterThan(0);
    const embedding = [...file.tensors.tensors.values()].find((entry) => entry.name.endsWith('embed_tokens.weight'));
    if (embedding === undefined) return;
    expect(embedding.type).toBe('F32');
    expect(embedding.shape).toEqual(gguf.tensors.get('token_embd.weight').shape);
    const fromSafetensors = Buffer.from(await file.tensors.readBytes(embedding.name));
    expect(fromSafetensors.equals(Buffer.from(await gguf.tensors.readBytes('token_embd.weight')))).toBe(true);
  });

  it('maps dtypes to ggml types of the same layout and keeps the others', async () => {
    const header = {
      __metadata__: { format: 'pt' },
      a: { dtype: 'BF16', shape: [2, 2], data_offsets: [0, 8] },
      b: { dtype: 'U8', shape: [3], data_offsets: [8, 11] },
      c: { dtype: 'F8_E4M3', shape: [1], data_offsets: [11, 12] },
      d: { dtype: 'I64', shape: [], data_offsets: [12, 20] },
      e: { dtype: 'F4', shape: [4], data_offsets: [20, 22] },
      f: { dtype: 'F32', shape: [0, 3], data_offsets: [22, 22] },
    };
    const data = Uint8Array.from({ length: 22 }, (_, index) => index);
    const file = await openSafetensors(bytesSource(safetensors(header, data)));
    expect(file.headers[0]!.metadata).toEqual({ format: 'pt' });
    const types = [...file.tensors.tensors.values()].map((entry) => [
      entry.name,
      entry.type,
      entry.sourceType,
      entry.byteLength,
    ]);
    expect(types).toEqual([
      ['a', 'BF16', 'BF16', 8],
      ['b', undefined, 'U8', 3],
      ['c', undefined, 'F8_E4M3', 1],
      ['d', 'I64', 'I64', 8],
      ['e', undefined, 'F4', 2],
      ['f', 'F32', 'F32', 0],
    ]);
    expect(await file.tensors.readBytes('b')).toEqual(Uint8Array.from([8, 9, 10]));
  });

  it('rejects bad headers with typed errors', async () => {
    const entry = (dtype: string, shape: unknown, offsets: unknown) => ({ t: { dtype, shape, data_offsets: offsets } });
    await expectCode(new Uint8Array(7), 'TRUNCATED_FILE');
    await expectCode(safetensors(undefined, undefined, '{"a":').subarray(0, 10), 'TRUNCATED_FILE');
    await expectCode(safetensors(undefined, undefined, '{"a": '), 'INVALID_FILE');
    await expectCode(safetensors(undefined, undefined, '[1, 2]'), 'INVALID_FILE');
    await expectCode(
      safetensors(undefined, undefined, '"?"').map((byte, index) => (index === 9 ? 0xff : byte)),
      'INVALID_FILE',
    );
    const huge = new Uint8Array(16);
    new DataView(huge.buffer).setBigUint64(0, 2n ** 63n, true);
    await expectCode(huge, 'INVALID_FILE');
    new DataView(huge.buffer).setBigUint64(0, 1000n, true);
    await expectCode(huge, 'TRUNCATED_FILE');
    await expectCode(safetensors({ __metadata__: { a: 1 } }), 'INVALID_FILE');
    await expectCode(safetensors({ t: 5 }), 'INVALID_FILE');
    await expectCode(safetensors(entry('F33', [1], [0, 4]), new Uint8Array(4)), 'UNKNOWN_TENSOR_TYPE');
    await expectCode(safetensors(entry('F32', [1], [0, 8]), new Uint8Array(8)), 'INVALID_TENSOR_INFO');
    await expectCode(safetensors(entry('F32', [-1], [0, 4]), new Uint8Array(4)), 'INVALID_TENSOR_INFO');
    await expectCode(safetensors(entry('F32', [1], [4, 0]), new Uint8Array(4)), 'INVALID_TENSOR_INFO');
    await expectCode(safetensors(entry('F32', [1], [0]), new Uint8Array(4)), 'INVALID_TENSOR_INFO');
    await expectCode(safetensors(entry('F32', [2 ** 40, 2 ** 20], [0, 4]), new Uint8Array(4)), 'INVALID_TENSOR_INFO');
    await expectCode(safetensors(entry('F32', [2], [0, 8]), new Uint8Array(4)), 'TRUNCATED_FILE');
    const overlapping = {
      a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] },
      b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] },
    };
    await expectCode(safetensors(overlapping, new Uint8Array(12)), 'INVALID_TENSOR_INFO');
  });

  it('opens a sharded model through its index and checks the index', async () => {
    const shard = (names: string[], value: number) => {
      const header = Object.fromEntries(
        names.map((name, index) => [name, { dtype: 'F32', shape: [1], data_offsets: [index * 4, index * 4 + 4] }]),
      );
      return bytesSource(safetensors(header, new Uint8Array(new Float32Array(names.map(() => value)).buffer)));
    };
    const index = (map: Record<string, string>) =>
      bytesSource(new TextEncoder().encode(JSON.stringify({ metadata: { total_size: 12 }, weight_map: map })));
    const good = sourcesDirectory({
      'model.safetensors.index.json': index({
        a: 'model-00001-of-00002.safetensors',
        b: 'model-00002-of-00002.safetensors',
        c: 'model-00002-of-00002.safetensors',
      }),
      'model-00001-of-00002.safetensors': shard(['a'], 1),
      'model-00002-of-00002.safetensors': shard(['b', 'c'], 2),
    });
    const opened = await openSafetensorsIndex(good);
    expect([...opened.tensors.tensors.keys()].sort()).toEqual(['a', 'b', 'c']);
    expect(new Float32Array((await opened.tensors.readBytes('c')).slice().buffer)[0]).toBe(2);
    expect(opened.index.metadata).toEqual({ total_size: 12 });
    const wrongShard = sourcesDirectory({
      'model.safetensors.index.json': index({ a: 'model-00002-of-00002.safetensors' }),
      'model-00002-of-00002.safetensors': shard(['b'], 2),
    });
    await expect(openSafetensorsIndex(wrongShard)).rejects.toSatisfy((error) =>
      StrataError.isInstance(error, 'INVALID_FILE'),
    );
    const missingShard = sourcesDirectory({ 'model.safetensors.index.json': index({ a: 'gone.safetensors' }) });
    await expect(openSafetensorsIndex(missingShard)).rejects.toSatisfy((error) =>
      StrataError.isInstance(error, 'IO_ERROR'),
    );
    const badIndex = sourcesDirectory({
      'model.safetensors.index.json': bytesSource(new TextEncoder().encode('{"weight_map": 3}')),
    });
    await expect(openSafetensorsIndex(badIndex)).rejects.toSatisfy((error) =>
      StrataError.isInstance(error, 'INVALID_FILE'),
    );
  });
});
