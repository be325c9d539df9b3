import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { GGML_TYPES, StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { fileSource } from '../node/file-source.js';
import { openGgufFile } from '../node/gguf-files.js';
import { ggufFileTypeName } from './gguf-file-type.js';

const fixtures = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));
const modelNames = readdirSync(`${fixtures}models`).filter((name) => name !== 'quant-base');
const quantFiles = readdirSync(`${fixtures}models/quant-base`).filter((name) => name.endsWith('.gguf'));
const vocabFiles = readdirSync(`${fixtures}vocab`).filter((name) => name.endsWith('.gguf'));

interface DequantCheck {
  readonly name: string;
  readonly ggml_type: string;
  readonly shape: number[];
  readonly n: number;
  readonly first16: number[];
}

function halfToFloat(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * 2 ** -14 * (fraction / 1024);
  if (exponent === 31) return fraction === 0 ? sign * Number.POSITIVE_INFINITY : Number.NaN;
  return sign * 2 ** (exponent - 15) * (1 + fraction / 1024);
}

describe('GGUF reader on llama.cpp-made fixtures', () => {
  it.each(modelNames)('%s/model-f32.gguf: header, metadata and tensors are consistent', async (name) => {
    const path = `${fixtures}models/${name}/model-f32.gguf`;
    const file = await openGgufFile(path);
    expect(file.version).toBe(3);
    const architecture = file.metadata.getString('general.architecture');
    expect(file.architecture).toBe(architecture);
    expect(file.metadata.getU32(`${architecture}.block_count`)).toBeGreaterThan(0);
    expect(file.metadata.getStringArray('tokenizer.ggml.tokens').length).toBeGreaterThan(0);
    const size = readFileSync(path).byteLength;
    let covered = 0;
    for (const info of file.tensorInfos) {
      const entry = file.tensors.get(info.name);
      expect(entry.shape).toEqual([...info.dimensions].reverse());
      expect(info.absoluteOffset % file.shards[0]!.alignment).toBe(0);
      expect(info.absoluteOffset + info.byteLength).toBeLessThanOrEqual(size);
      covered += info.byteLength;
    }
    // The data section holds the tensors and at most alignment-1 bytes of padding after each.
    const dataBytes = size - file.shards[0]!.dataOffset;
    expect(covered).toBeLessThanOrEqual(dataBytes);
    expect(dataBytes - covered).toBeLessThan(file.tensorInfos.length * 32);
  });

  it.each(quantFiles)('quant-base/%s: types and shapes match the gguf-py dequantization check', async (fileName) => {
    const type = fileName.replace(/^model-(.*)\.gguf$/, '$1');
    const file = await openGgufFile(`${fixtures}models/quant-base/${fileName}`);
    const fileType = ggufFileTypeName(file.metadata.getU32('general.file_type'));
    expect(fileType?.toUpperCase().startsWith(type.toUpperCase())).toBe(true);
    const checks = JSON.parse(
      readFileSync(`${fixtures}models/quant-base/dequant-check-${type}.json`, 'utf8'),
    ) as DequantCheck[];
    for (const check of checks) {
      const entry = file.tensors.get(check.name);
      expect(entry.type).toBe(check.ggml_type);
      expect(entry.shape).toEqual([...check.shape].reverse());
      const info = GGML_TYPES.find((row) => row.name === check.ggml_type)!;
      expect(entry.byteLength).toBe((check.n / info.blockSize) * info.bytesPerBlock);
      if (check.ggml_type === 'F32' || check.ggml_type === 'F16') {
        const bytes = await file.tensors.readBytes(check.name);
        const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
        const first = Array.from({ length: 16 }, (_, index) =>
          check.ggml_type === 'F32' ? view.getFloat32(index * 4, true) : halfToFloat(view.getUint16(index * 2, true)),
        );
        for (const [index, value] of first.entries()) expect(value).toBeCloseTo(check.first16[index]!, 5);
      }
    }
  });

  it.each(vocabFiles)('vocab/%s: metadata-only file with a tokenizer', async (fileName) => {
    const file = await openGgufFile(`${fixtures}vocab/${fileName}`);
    expect(file.tensorInfos.length).toBe(0);
    const tokens = file.metadata.getStringArray('tokenizer.ggml.tokens');
    expect(tokens.length).toBeGreaterThan(1000);
    expect(['llama', 'gpt2']).toContain(file.metadata.getString('tokenizer.ggml.model'));
    const scores = file.metadata.findFloat32Array('tokenizer.ggml.scores');
    if (scores !== undefined) expect(scores.length).toBe(tokens.length);
    const types = file.metadata.findInt32Array('tokenizer.ggml.token_type');
    if (types !== undefined) expect(types.length).toBe(tokens.length);
  });

  it('reads a header without reading the tensor data', async () => {
    const source = await fileSource(`${fixtures}models/quant-base/model-f32.gguf`);
    let bytesRead = 0;
    const { openGguf } = await import('./gguf-file.js');
    const file = await openGguf({
      ...source,
      read: (offset, length) => {
        bytesRead += length;
        return source.read(offset, length);
      },
    });
    expect(bytesRead).toBeLessThan(file.shards[0]!.dataOffset + 64 * 1024);
    expect(bytesRead).toBeLessThan(source.byteLength / 4);
  });

  it('streams a tensor in consecutive chunks equal to one read', async () => {
    const file = await openGgufFile(`${fixtures}models/quant-base/model-Q8_0.gguf`);
    const whole = await file.tensors.readBytes('token_embd.weight');
    const chunks: Uint8Array[] = [];
    for await (const chunk of file.tensors.streamBytes('token_embd.weight', 1000)) chunks.push(chunk);
    expect(chunks.slice(0, -1).every((chunk) => chunk.byteLength === 1000)).toBe(true);
    expect(Buffer.concat(chunks).equals(Buffer.from(whole))).toBe(true);
  });

  it('streams a tensor through one buffer: chunks are views of it, read in place, equal to one read', async () => {
    const file = await openGgufFile(`${fixtures}models/quant-base/model-Q8_0.gguf`);
    const whole = await file.tensors.readBytes('token_embd.weight');
    const into = new Uint8Array(1000);
    let copied = Buffer.alloc(0);
    for await (const chunk of file.tensors.streamBytes('token_embd.weight', 4096, into)) {
      expect(chunk.buffer).toBe(into.buffer); // no new buffer per chunk: the file source reads in place
      expect(chunk.byteLength).toBeLessThanOrEqual(1000);
      copied = Buffer.concat([copied, chunk]); // a consumer copies before asking for the next chunk
    }
    expect(copied.equals(Buffer.from(whole))).toBe(true);
    // A source without readInto: the same bytes, copied into the buffer.
    const source = await fileSource(`${fixtures}models/quant-base/model-Q8_0.gguf`);
    const { openGguf } = await import('./gguf-file.js');
    const plain = await openGguf({ name: source.name, byteLength: source.byteLength, read: source.read });
    copied = Buffer.alloc(0);
    for await (const chunk of plain.tensors.streamBytes('token_embd.weight', 4096, into)) {
      expect(chunk.buffer).toBe(into.buffer);
      copied = Buffer.concat([copied, chunk]);
    }
    expect(copied.equals(Buffer.from(whole))).toBe(true);
  });

  it('names close tensors when one is missing', async () => {
    const file = await openGgufFile(`${fixtures}models/llama/model-f32.gguf`);
    const error = (() => {
      try {
        file.tensors.get('blk.0.attn_q.weights');
      } catch (caught) {
        return caught;
      }
    })();
    expect(StrataError.isInstance(error, 'TENSOR_NOT_FOUND')).toBe(true);
    expect((error as StrataError).message).toContain("'blk.0.attn_q.weight'");
  });
});
