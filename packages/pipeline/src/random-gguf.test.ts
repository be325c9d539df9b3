import type { WeightType } from '@strata/core';
import { dequantize } from '@strata/kernels-cpu';
import { bytesSource, ggufChunks, openGguf, tokenizerFromGguf } from '@strata/loaders';
import { describe, expect, it } from 'vitest';
import { type FileType, llamaMetadata, llamaTensors, MODELS } from '../bench/random-gguf.js';

async function writeInMemory(fileType: FileType): Promise<Uint8Array> {
  const dimensions = MODELS.tiny!;
  const chunks: Uint8Array[] = [];
  for await (const chunk of ggufChunks({
    metadata: llamaMetadata(dimensions, fileType),
    tensors: llamaTensors(dimensions, fileType),
  })) {
    chunks.push(chunk.slice());
  }
  const bytes = new Uint8Array(chunks.reduce((total, chunk) => total + chunk.byteLength, 0));
  let offset = 0;
  for (const chunk of chunks) {
    bytes.set(chunk, offset);
    offset += chunk.byteLength;
  }
  return bytes;
}

describe('bench/random-gguf', () => {
  it.each(['F16', 'Q8_0', 'Q4_K_M'] as const)(
    'writes a loadable %s llama with valid random blocks',
    async (fileType) => {
      const file = await openGguf(bytesSource(await writeInMemory(fileType), `tiny-${fileType}.gguf`));
      expect(file.architecture).toBe('llama');
      const types = new Set([...file.tensors.tensors.values()].map((entry) => entry.type));
      if (fileType === 'Q4_K_M') expect(types).toEqual(new Set(['F32', 'Q4_K', 'Q6_K']));
      else expect(types).toEqual(new Set(['F32', fileType]));
      for (const entry of file.tensors.tensors.values()) {
        const values = dequantize(
          entry.type as WeightType,
          await file.tensors.readBytes(entry.name),
          entry.shape.reduce((a, b) => a * b),
        );
        let largest = 0;
        let finite = true;
        for (const value of values) {
          finite &&= Number.isFinite(value);
          largest = Math.max(largest, Math.abs(value));
        }
        expect(finite, entry.name).toBe(true);
        expect(largest).toBeGreaterThan(0);
        expect(largest).toBeLessThan(1.5);
      }
      const tokenizer = tokenizerFromGguf(file.metadata);
      expect(tokenizer.vocabularySize).toBe(MODELS.tiny!.vocabulary);
      const ids = tokenizer.encode('héllo', { addSpecial: true });
      expect(ids[0]).toBe(1);
      expect(tokenizer.decode(ids, { skipSpecial: true }).trim()).toBe('héllo');
    },
  );
});
