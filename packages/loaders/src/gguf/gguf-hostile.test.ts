import { type StrataErrorCode, StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { bytesSource } from '../byte-source/byte-source.js';
import { openGguf } from './gguf-file.js';
import { GgufMetadata } from './gguf-metadata.js';
import { ggufValue } from './gguf-value.js';
import { writeGguf } from './gguf-writer.js';

/** Builds GGUF bytes field by field, so tests can write what the writer refuses to. */
class Raw {
  readonly #bytes: number[] = [];
  u8(value: number): this {
    this.#bytes.push(value & 0xff);
    return this;
  }
  u32(value: number): this {
    for (let shift = 0; shift < 32; shift += 8) this.#bytes.push((value >>> shift) & 0xff);
    return this;
  }
  u64(value: bigint | number): this {
    const big = BigInt.asUintN(64, BigInt(value));
    for (let shift = 0n; shift < 64n; shift += 8n) this.#bytes.push(Number((big >> shift) & 0xffn));
    return this;
  }
  string(text: string): this {
    const encoded = new TextEncoder().encode(text);
    this.u64(encoded.byteLength);
    for (const byte of encoded) this.#bytes.push(byte);
    return this;
  }
  header(tensors: number | bigint, keys: number | bigint, version = 3): this {
    return this.u32(0x46554747).u32(version).u64(tensors).u64(keys);
  }
  /** A tensor info: name, ggml dims (innermost first), type id, offset. */
  tensor(name: string, dims: (number | bigint)[], type: number, offset: number | bigint): this {
    this.string(name).u32(dims.length);
    for (const size of dims) this.u64(size);
    return this.u32(type).u64(offset);
  }
  pad(alignment = 32): this {
    while (this.#bytes.length % alignment !== 0) this.#bytes.push(0);
    return this;
  }
  zeros(count: number): this {
    for (let index = 0; index < count; index++) this.#bytes.push(0);
    return this;
  }
  build(): Uint8Array {
    return Uint8Array.from(this.#bytes);
  }
}

async function failure(bytes: Uint8Array): Promise<StrataError> {
  try {
    await openGguf(bytesSource(bytes, 'hostile.gguf'));
  } catch (error) {
    if (StrataError.isInstance(error)) return error;
    throw new Error(`expected a StrataError, got ${String(error)}`);
  }
  throw new Error('expected the file to be rejected');
}

async function expectCode(bytes: Uint8Array, code: StrataErrorCode): Promise<StrataError> {
  const error = await failure(bytes);
  expect(error.code, error.message).toBe(code);
  return error;
}

const sample = writeGguf({
  metadata: [
    ['general.architecture', ggufValue.string('llama')],
    ['a.u64', ggufValue.u64(7n)],
    ['a.tokens', ggufValue.stringArray(['<s>', 'hello', 'wörld'])],
    ['a.scores', ggufValue.f32Array([0, -1, -2])],
    ['a.nested', ggufValue.array({ elementType: 'array', values: [{ elementType: 'bool', values: [true] }] })],
  ],
  tensors: [
    { name: 'one', type: 'F32', shape: [2, 3], data: new Uint8Array(24).fill(1) },
    { name: 'two', type: 'Q8_0', shape: [1, 32], data: new Uint8Array(34).fill(2) },
  ],
});

describe('GGUF reader on hostile input', () => {
  it('rejects every truncation of a valid file with TRUNCATED_FILE', async () => {
    const file = await openGguf(bytesSource(sample));
    const lastTensor = file.tensorInfos[file.tensorInfos.length - 1]!;
    const needed = lastTensor.absoluteOffset + lastTensor.byteLength;
    for (let length = 0; length < sample.byteLength; length++) {
      const prefix = sample.subarray(0, length);
      if (length < needed) await expectCode(prefix, 'TRUNCATED_FILE');
      else expect((await openGguf(bytesSource(prefix))).tensorInfos).toHaveLength(2);
    }
  });

  it('rejects a wrong magic and unsupported versions', async () => {
    const wrong = sample.slice();
    wrong[0] = 0x47 + 1;
    await expectCode(wrong, 'INVALID_FILE');
    for (const version of [0, 1, 4, 0xffffffff])
      await expectCode(new Raw().header(0, 0, version).build(), 'UNSUPPORTED_VERSION');
    const bigEndian = await expectCode(new Raw().header(0, 0, 0x03000000).build(), 'UNSUPPORTED_VERSION');
    expect(bigEndian.message).toContain('big-endian');
    expect((await openGguf(bytesSource(new Raw().header(0, 0, 2).build()))).version).toBe(2);
  });

  it('rejects absurd counts and lengths before allocating', async () => {
    await expectCode(new Raw().header(2n ** 63n, 0).build(), 'TRUNCATED_FILE');
    await expectCode(new Raw().header(0, 2n ** 64n - 1n).build(), 'TRUNCATED_FILE');
    await expectCode(new Raw().header(1_000_000, 0).zeros(100).build(), 'TRUNCATED_FILE');
    await expectCode(
      new Raw()
        .header(0, 1)
        .u64(2n ** 62n)
        .zeros(16)
        .build(),
      'TRUNCATED_FILE',
    );
    await expectCode(
      new Raw()
        .header(0, 1)
        .string('k')
        .u32(8)
        .u64(2n ** 40n)
        .zeros(16)
        .build(),
      'TRUNCATED_FILE',
    );
    const hugeArray = new Raw()
      .header(0, 1)
      .string('k')
      .u32(9)
      .u32(6)
      .u64(2n ** 61n)
      .zeros(64)
      .build();
    await expectCode(hugeArray, 'TRUNCATED_FILE');
    const hugeStrings = new Raw().header(0, 1).string('k').u32(9).u32(8).u64(1000).zeros(64).build();
    await expectCode(hugeStrings, 'TRUNCATED_FILE');
  });

  it('rejects unknown value types, bad bools, duplicates and deep nesting', async () => {
    await expectCode(new Raw().header(0, 1).string('k').u32(13).zeros(8).build(), 'UNKNOWN_VALUE_TYPE');
    await expectCode(new Raw().header(0, 1).string('k').u32(9).u32(99).u64(1).zeros(8).build(), 'UNKNOWN_VALUE_TYPE');
    await expectCode(new Raw().header(0, 1).string('k').u32(7).u8(2).build(), 'INVALID_METADATA');
    await expectCode(new Raw().header(0, 2).string('k').u32(0).u8(1).string('k').u32(0).u8(1).build(), 'INVALID_FILE');
    const nested = new Raw().header(0, 1).string('k').u32(9);
    for (let depth = 0; depth < 100; depth++) nested.u32(9).u64(1);
    nested.u32(0).u64(0);
    await expectCode(nested.build(), 'INVALID_FILE');
  });

  it('checks general.alignment', async () => {
    await expectCode(new Raw().header(0, 1).string('general.alignment').u32(4).u32(24).build(), 'INVALID_METADATA');
    await expectCode(new Raw().header(0, 1).string('general.alignment').u32(4).u32(0).build(), 'INVALID_METADATA');
    await expectCode(
      new Raw().header(0, 1).string('general.alignment').u32(8).string('32').build(),
      'INVALID_METADATA',
    );
    await expectCode(new Raw().header(0, 1).string('general.alignment').u32(10).u64(32).build(), 'INVALID_METADATA');
  });

  it('checks tensor infos: types, dimensions, offsets, overlap and alignment', async () => {
    const one = (dims: (number | bigint)[], type: number, offset: number | bigint, data = 64) =>
      new Raw().header(1, 0).tensor('t', dims, type, offset).pad().zeros(data).build();
    expect((await openGguf(bytesSource(one([4], 0, 0)))).tensors.get('t').byteLength).toBe(16);
    await expectCode(one([4], 99, 0), 'UNKNOWN_TENSOR_TYPE');
    await expectCode(one([32], 4, 0), 'UNSUPPORTED_TENSOR_TYPE');
    await expectCode(one([1, 1, 1, 1, 1], 0, 0), 'INVALID_TENSOR_INFO');
    await expectCode(one([31], 2, 0), 'INVALID_TENSOR_INFO');
    await expectCode(one([2n ** 40n, 2n ** 40n], 0, 0), 'INVALID_TENSOR_INFO');
    await expectCode(one([4], 0, 16), 'INVALID_TENSOR_INFO');
    await expectCode(one([4], 0, 64), 'TRUNCATED_FILE');
    await expectCode(one([4], 0, 2n ** 63n), 'INVALID_TENSOR_INFO');
    await expectCode(one([1024], 0, 0), 'TRUNCATED_FILE');
    // An empty tensor still starts inside its file: at its end at the latest.
    expect((await openGguf(bytesSource(one([0], 0, 64)))).tensors.get('t').byteLength).toBe(0);
    const farEmpty = await expectCode(one([0], 0, 2n ** 40n), 'TRUNCATED_FILE');
    expect(farEmpty.message).toContain('past the end');
    await expectCode(one([4, 0], 0, 96), 'TRUNCATED_FILE');
    const overlapping = new Raw()
      .header(2, 0)
      .tensor('a', [16], 0, 0)
      .tensor('b', [16], 0, 32)
      .pad()
      .zeros(128)
      .build();
    await expectCode(overlapping, 'INVALID_TENSOR_INFO');
    const duplicate = new Raw().header(2, 0).tensor('a', [8], 0, 0).tensor('a', [8], 0, 32).pad().zeros(128).build();
    await expectCode(duplicate, 'INVALID_FILE');
  });

  it('merges split models and checks the shards', async () => {
    const shard = (index: number, count: number, names: string[], total = 3) =>
      bytesSource(
        writeGguf({
          metadata: [
            ['split.no', ggufValue.u16(index)],
            ['split.count', ggufValue.u16(count)],
            ['split.tensors.count', ggufValue.i32(total)],
          ],
          tensors: names.map((name, position) => ({
            name,
            type: 'F32',
            shape: [2],
            data: new Uint8Array(new Float32Array([index, position]).buffer),
          })),
        }),
        `shard-${index}`,
      );
    const shards = [shard(0, 3, ['a']), shard(1, 3, ['b', 'c']), shard(2, 3, [])];
    const file = await openGguf(shards);
    expect([...file.tensors.tensors.keys()]).toEqual(['a', 'b', 'c']);
    expect(new Float32Array((await file.tensors.readBytes('c')).slice().buffer)).toEqual(new Float32Array([1, 1]));
    expect(file.tensorInfos.map((info) => info.shard)).toEqual([0, 1, 1]);
    for (const bad of [
      [shards[1]!, shards[0]!, shards[2]!],
      shards.slice(0, 2),
      [shard(0, 3, ['a'], 4), shards[1]!, shards[2]!],
      [shards[0]!, shard(1, 3, ['a']), shards[2]!],
    ]) {
      await expect(openGguf(bad)).rejects.toSatisfy((error) => StrataError.isInstance(error, 'INVALID_FILE'));
    }
  });
});

describe('GgufMetadata typed access', () => {
  const metadata = new GgufMetadata([
    ['s', ggufValue.string('text')],
    ['n', ggufValue.u32(7)],
    ['neg', ggufValue.i32(-1)],
    ['big', ggufValue.u64(2n ** 60n)],
    ['f', ggufValue.f32(0.25)],
    ['tokens', ggufValue.stringArray(['a'])],
    ['types', ggufValue.i32Array([1, 2])],
    ['wide', ggufValue.array({ elementType: 'i64', values: BigInt64Array.from([-3n, 2n ** 40n]) })],
  ]);

  it('converts where the value fits', () => {
    expect(metadata.getInteger('n')).toBe(7);
    expect(metadata.getF32('n')).toBe(7);
    expect(metadata.getI32('neg')).toBe(-1);
    expect(metadata.getU64('big')).toBe(2n ** 60n);
    expect(metadata.get('big', 'i64')).toBe(2n ** 60n);
    expect(metadata.getFloat32Array('types')).toEqual(Float32Array.from([1, 2]));
    expect(metadata.getInt32Array('types')).toEqual(Int32Array.from([1, 2]));
    expect(() => metadata.getInt32Array('wide')).toThrow(expect.objectContaining({ code: 'INVALID_METADATA' }));
    expect(metadata.getNumberArray('wide')).toEqual(Float64Array.from([-3, 2 ** 40]));
    expect(metadata.findString('absent')).toBeUndefined();
  });

  it('names the key, the expected and the actual type', () => {
    const cases: [() => unknown, StrataErrorCode, string][] = [
      [() => metadata.getString('absent'), 'MISSING_METADATA', "'absent'"],
      [() => metadata.getU32('s'), 'INVALID_METADATA', "'s' is string"],
      [() => metadata.getU32('neg'), 'INVALID_METADATA', 'expected u32'],
      [() => metadata.getInteger('big'), 'INVALID_METADATA', "'big' is u64"],
      [() => metadata.getInteger('f'), 'INVALID_METADATA', 'expected integer'],
      [() => metadata.getStringArray('types'), 'INVALID_METADATA', 'array of i32'],
      [() => metadata.findBool('n'), 'INVALID_METADATA', 'expected bool'],
    ];
    for (const [run, code, text] of cases) {
      expect(run).toThrow(expect.objectContaining({ code, message: expect.stringContaining(text) }));
    }
  });
});

describe('GGUF string decoding', () => {
  it('decodes short and long strings, valid or not, exactly as TextDecoder does', async () => {
    const samples: number[][] = [
      [...new TextEncoder().encode('Ġhello')],
      [...new TextEncoder().encode('日本語 ✓ é 😀')],
      [0xc3],
      [0xe2, 0x82],
      [0xed, 0xa0, 0x80],
      [0xc0, 0xaf],
      [0xe0, 0x80, 0xaf],
      [0xf0, 0x9f, 0x98, 0x80, 0x41],
      [0x80, 0x41],
      [0xff, 0xfe],
    ];
    let state = 99;
    for (let sample = 0; sample < 300; sample++) {
      const length = sample % 60;
      const bytes: number[] = [];
      for (let index = 0; index < length; index++) {
        state = (state * 1103515245 + 12345) >>> 0;
        bytes.push(sample % 3 === 0 ? 0x20 + (state % 90) : state >>> 24);
      }
      samples.push(bytes);
    }
    const raw = new Raw().header(0, 1).string('k').u32(9).u32(8).u64(samples.length);
    for (const bytes of samples) {
      raw.u64(bytes.length);
      for (const byte of bytes) raw.u8(byte);
    }
    const file = await openGguf(bytesSource(raw.build()));
    const decoded = file.metadata.getStringArray('k');
    const decoder = new TextDecoder('utf-8');
    expect(decoded).toEqual(samples.map((bytes) => decoder.decode(Uint8Array.from(bytes))));
  });
});
