import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { StrataError } from '@strata/core';
import { afterAll, describe, expect, it } from 'vitest';
import { ggufValue } from '../gguf/gguf-value.js';
import { directorySource, fileSource, openGgufFile, openModelFiles, writeGgufFile } from '../node.js';

const fixtures = fileURLToPath(new URL('../../../../../shared/fixtures/', import.meta.url));
const scratch = mkdtempSync(join(tmpdir(), 'strata-loaders-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('@strata/loaders/node', () => {
  it('fileSource reads ranges and rejects reads past the end', async () => {
    const path = join(scratch, 'bytes.bin');
    writeFileSync(
      path,
      Uint8Array.from({ length: 100 }, (_, index) => index),
    );
    const source = await fileSource(path);
    expect(source.byteLength).toBe(100);
    expect(await source.read(95, 5)).toEqual(Uint8Array.from([95, 96, 97, 98, 99]));
    await expect(source.read(96, 5)).rejects.toSatisfy((error) => StrataError.isInstance(error, 'TRUNCATED_FILE'));
    await expect(source.read(-1, 1)).rejects.toSatisfy((error) => StrataError.isInstance(error, 'INVALID_ARGUMENT'));
    const together = await Promise.all(Array.from({ length: 2000 }, (_, index) => source.read(index % 100, 1)));
    expect(together.map((bytes) => bytes[0])).toEqual(Array.from({ length: 2000 }, (_, index) => index % 100));
    await expect(fileSource(join(scratch, 'missing.bin'))).rejects.toSatisfy((error) =>
      StrataError.isInstance(error, 'IO_ERROR'),
    );
  });

  it('directorySource lists, reads and opens; absent files are undefined', async () => {
    const directory = directorySource(`${fixtures}models/llama`);
    expect(await directory.list()).toContain('config.json');
    expect(await directory.readText('absent.json')).toBeUndefined();
    expect(await directory.open('absent.bin')).toBeUndefined();
    expect((await directory.open('model-f32.gguf'))?.byteLength).toBeGreaterThan(0);
    expect(await directorySource(`${fixtures}models`).readText('llama/config.json')).toContain('"architectures"');
    await expect(directory.readText('../qwen2/config.json')).rejects.toSatisfy((error) =>
      StrataError.isInstance(error, 'INVALID_ARGUMENT'),
    );
    await expect(directory.open('/etc/passwd')).rejects.toSatisfy((error) =>
      StrataError.isInstance(error, 'INVALID_ARGUMENT'),
    );
  });

  it('writeGgufFile streams tensors to disk; openGgufFile opens every shard from the first', async () => {
    const count = 3;
    for (let index = 0; index < count; index++) {
      await writeGgufFile(join(scratch, `split-0000${index + 1}-of-0000${count}.gguf`), {
        metadata: [
          ['split.no', ggufValue.u16(index)],
          ['split.count', ggufValue.u16(count)],
          ['split.tensors.count', ggufValue.i32(count)],
        ],
        tensors: [
          {
            name: `t${index}`,
            type: 'F32',
            shape: [4, 8],
            data: async function* () {
              for (let row = 0; row < 4; row++) yield new Uint8Array(new Float32Array(8).fill(index * 10 + row).buffer);
            },
          },
        ],
      });
    }
    const file = await openGgufFile(join(scratch, 'split-00001-of-00003.gguf'));
    expect([...file.tensors.tensors.keys()]).toEqual(['t0', 't1', 't2']);
    const bytes = await file.tensors.readBytes('t2');
    expect(new Float32Array(bytes.slice().buffer)[31]).toBe(23);
    await expect(openGgufFile(join(scratch, 'split-00002-of-00003.gguf'))).rejects.toSatisfy((error) =>
      StrataError.isInstance(error, 'INVALID_ARGUMENT'),
    );
  });

  it('openModelFiles tells a GGUF file from a Hugging Face directory', async () => {
    const gguf = await openModelFiles(`${fixtures}models/qwen2/model-f32.gguf`);
    const huggingface = await openModelFiles(`${fixtures}models/qwen2`);
    if (gguf.format !== 'gguf' || huggingface.format !== 'huggingface') throw new Error('wrong formats');
    expect(gguf.architecture).toBe('qwen2');
    expect(gguf.metadata.getU32('qwen2.block_count')).toBe(huggingface.config.num_hidden_layers);
    expect(huggingface.architecture).toBe('Qwen2ForCausalLM');
    expect(gguf.tensors.get('token_embd.weight').shape).toEqual(
      huggingface.tensors.get('model.embed_tokens.weight').shape,
    );
    await expect(openModelFiles(join(scratch, 'nothing'))).rejects.toSatisfy((error) =>
      StrataError.isInstance(error, 'IO_ERROR'),
    );
    await expect(openModelFiles(`${fixtures}models/qwen2/config.json`)).rejects.toSatisfy((error) =>
      StrataError.isInstance(error, 'INVALID_FILE'),
    );
  });
});
